using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveKitSimulator;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using RoomReconciler.Hosting;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Scenarios;

/// <summary>
/// The whole system for a scenario: a fresh migrated PostgreSQL database, the LiveKit simulator where LiveKit
/// would be, and the real daemon (in this process, or as separate processes for kill -9 and replicas), with
/// time compressed by configuration.
/// </summary>
public sealed class ScenarioHost : IAsyncDisposable
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    private readonly List<WebApplication> _daemons = [];
    private readonly List<DaemonProcess> _processes = [];

    public required SimulatorServer LiveKit { get; init; }
    public required ClockDatabase Db { get; init; }
    public TimeSpan PollInterval { get; init; } = Poll;
    public bool Webhooks { get; init; } = true;

    /// <summary>Further daemon configuration, e.g. "--Reconciler:MaxSessionDuration=00:00:04".</summary>
    public string[] ExtraArgs { get; init; } = [];

    /// <param name="liveKit">adjusts the simulator's options (psrpc, lifecycle timeouts) before it starts</param>
    /// <param name="liveKitTime">the simulator's clock, for skew</param>
    public static async Task<ScenarioHost> CreateAsync(TimeSpan? poll = null, bool webhooks = true, Action<SimulatorOptions>? liveKit = null,
        TimeProvider? liveKitTime = null, params string[] daemonArgs)
    {
        var options = new SimulatorOptions
        {
            DepartureTimeout = TimeSpan.FromSeconds(60),
            WebhookRetryMin = TimeSpan.FromMilliseconds(100),
            WebhookRetryMax = TimeSpan.FromMilliseconds(500),
        };
        liveKit?.Invoke(options);
        return new()
        {
            LiveKit = await SimulatorServer.StartAsync(options, liveKitTime),
            Db = await ClockDatabase.CreateAsync(),
            PollInterval = poll ?? Poll,
            Webhooks = webhooks,
            ExtraArgs = daemonArgs,
        };
    }

    public string[] DaemonArgs(params string[] extra) =>
    [
        "--Urls=http://127.0.0.1:0",
        "--ConnectionStrings:Postgres=" + Db.ConnectionString,
        "--LiveKit:Url=" + LiveKit.Url,
        "--LiveKit:ApiKey=" + LiveKit.ApiKey,
        "--LiveKit:ApiSecret=" + LiveKit.ApiSecret,
        "--Reconciler:PollInterval=" + PollInterval.ToString("c"),
        "--Reconciler:GracePeriod=" + Grace.ToString("c"),
        "--ClockApi:RequireToken=false",
        .. ExtraArgs,
        .. extra,
    ];

    /// <summary>The daemon in this process, with its real Kestrel on a free port; webhooks point at it.</summary>
    public async Task<string> StartDaemonAsync()
    {
        var app = DaemonHost.Build(DaemonArgs());
        await app.StartAsync();
        _daemons.Add(app);
        var url = app.Urls.First();
        if (Webhooks) LiveKit.Webhooks.Url = url + "/livekit/webhook";
        return url;
    }

    public async Task StopDaemonsAsync()
    {
        foreach (var app in _daemons) { await app.StopAsync(); await app.DisposeAsync(); }
        _daemons.Clear();
    }

    /// <summary>The daemon as its own process, `dotnet RoomReconciler.dll run`, for kill -9 and replicas.</summary>
    /// <param name="extra">further arguments, after (so overriding) the scenario's own</param>
    public async Task<DaemonProcess> StartDaemonProcessAsync(params string[] extra)
    {
        var process = await DaemonProcess.StartAsync(DaemonArgs(extra));
        _processes.Add(process);
        if (Webhooks) LiveKit.Webhooks.Url = process.Url + "/livekit/webhook";
        return process;
    }

    public async Task<Guid> NewSessionAsync() => await Db.NewSessionAsync();

    public static string Room(Guid session) => session.ToString("D");

    public Task<JsonElement> ClockAsync(Guid session) => Db.GetAsync(session);

    /// <summary>Waits until the database's clock has reached <paramref name="at"/>.</summary>
    public async Task UntilDatabaseTimeAsync(DateTime at)
    {
        // A timer can wake a millisecond early against the database's clock: look again until it has passed.
        for (var wait = at - await Db.NowAsync(); wait > TimeSpan.Zero; wait = at - await Db.NowAsync())
            await Task.Delay(wait + TimeSpan.FromMilliseconds(1));
    }

    public Task<JsonElement> UntilClockAsync(Guid session, Func<JsonElement, bool> condition, TimeSpan timeout, string what) =>
        Eventually.Async(() => ClockAsync(session), condition, timeout, what);

    /// <summary>A participant's join time as LiveKit reports it (joined_at_ms).</summary>
    public DateTime JoinedAt(Guid session, string identity) =>
        LiveKit.Rooms.Participant(Room(session), identity)!.JoinedAt.UtcDateTime;

    public async ValueTask DisposeAsync()
    {
        await StopDaemonsAsync();
        foreach (var p in _processes) await p.DisposeAsync();
        await LiveKit.DisposeAsync();
        await Db.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
    }
}

/// <summary>A daemon in its own process: the real executable, killable with SIGKILL.</summary>
public sealed partial class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Url { get; private set; } = "";
    public int Pid => _process.Id;

    private DaemonProcess(Process process) => _process = process;

    public static async Task<DaemonProcess> StartAsync(IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RoomReconciler.dll"));
        start.ArgumentList.Add("run");
        foreach (var a in args) start.ArgumentList.Add(a);
        var daemon = new DaemonProcess(Process.Start(start)!);
        daemon._process.OutputDataReceived += (_, e) => daemon.OnLine(e.Data);
        daemon._process.ErrorDataReceived += (_, e) => daemon.OnLine(e.Data);
        daemon._process.BeginOutputReadLine();
        daemon._process.BeginErrorReadLine();
        var ready = await Task.WhenAny(daemon._listening.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        if (ready != daemon._listening.Task) throw new InvalidOperationException("the daemon did not start listening within 30 s");
        daemon.Url = await daemon._listening.Task;
        return daemon;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        TestContext.Progress.WriteLine($"[daemon {_process.Id}] {line}");
        if (ListeningLine().Match(line) is { Success: true } m) _listening.TrySetResult(m.Groups[1].Value);
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();

    /// <summary>SIGKILL: no shutdown, no cleanup, as a crash or an OOM kill.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
