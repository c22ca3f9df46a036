using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using RoomReconciler.Hosting;
using RoomReconciler.Tests.Scenarios;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Browser;

/// <summary>
/// The whole system for browser tests: <see cref="ScenarioHost"/> (PostgreSQL, the LiveKit simulator, grace 3 s) with
/// the real daemon in this process on real Kestrel and <c>Demo:Enabled=true</c>, and Debian's headless Chromium
/// driven by Playwright. Playwright never downloads a browser here: it launches /usr/bin/chromium, with a fresh
/// profile of its own per launch, and closes it (and its driver) on dispose.
/// </summary>
public sealed class BrowserHost : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly List<IBrowserContext> _contexts = [];

    private BrowserHost(ScenarioHost system, WebApplication daemon, string url, IPlaywright playwright, IBrowser browser)
    {
        System = system;
        Daemon = daemon;
        Url = url;
        Playwright = playwright;
        Browser = browser;
    }

    public ScenarioHost System { get; }
    public WebApplication Daemon { get; }
    public string Url { get; }
    public IPlaywright Playwright { get; }
    public IBrowser Browser { get; }

    public static async Task<BrowserHost> StartAsync()
    {
        if (!File.Exists(ChromiumPath))
            Assert.Fail($"{ChromiumPath} is missing: install Debian's chromium package (./test.sh does)");
        // Belt and braces: nothing in this process may fetch a browser build.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");

        var system = await ScenarioHost.CreateAsync();
        WebApplication? daemon = null;
        IPlaywright? playwright = null;
        try
        {
            daemon = DaemonHost.Build(system.DaemonArgs("--Demo:Enabled=true", "--Serilog:MinimumLevel:Default=Warning"));
            await daemon.StartAsync();
            var url = daemon.Urls.First();
            system.LiveKit.Webhooks.Url = url + "/livekit/webhook";

            playwright = await Microsoft.Playwright.Playwright.CreateAsync();
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ChromiumArgs,
                Timeout = 30_000,
            });
            return new BrowserHost(system, daemon, url, playwright, browser);
        }
        catch
        {
            playwright?.Dispose();
            if (daemon is not null) { await daemon.StopAsync(); await daemon.DisposeAsync(); }
            await system.DisposeAsync();
            throw;
        }
    }

    /// <summary>A page in its own browser context (its own window: a separate participant's browser).</summary>
    public async Task<IPage> NewPageAsync()
    {
        var context = await Browser.NewContextAsync();
        _contexts.Add(context);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(10_000);
        page.Console += (_, m) => { if (m.Type is "error" or "warning") TestContext.Progress.WriteLine($"[browser {m.Type}] {m.Text}"); };
        page.PageError += (_, e) => TestContext.Progress.WriteLine($"[browser page error] {e}");
        return page;
    }

    public async Task CloseContextsAsync()
    {
        foreach (var c in _contexts) await c.CloseAsync();
        _contexts.Clear();
    }

    /// <summary>Both participants join; returns once the clock has started (at the second one's join).</summary>
    public async Task<Guid> RunningSessionAsync()
    {
        var session = await System.NewSessionAsync();
        System.LiveKit.Rooms.Join(ScenarioHost.Room(session), "customer");
        System.LiveKit.Rooms.Join(ScenarioHost.Room(session), "mechanic");
        await System.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(5), "the clock to start");
        return session;
    }

    /// <summary>The elapsed time the server's clock gives at database time <paramref name="at"/>, from a snapshot.</summary>
    public static long ServerElapsedAt(JsonElement snapshot, DateTime at)
    {
        if (snapshot.Time("started_at") is not { } started) return 0;
        var end = snapshot.Paused() ? snapshot.Time("last_state_change_at")!.Value : snapshot.Time("ended_at") ?? at;
        return Math.Max(0, (long)(end - started).TotalMilliseconds - snapshot.TotalPaused());
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CloseContextsAsync();
            await Browser.CloseAsync();
        }
        finally
        {
            Playwright.Dispose();
            await Daemon.StopAsync();
            await Daemon.DisposeAsync();
            await System.DisposeAsync();
        }
    }
}
