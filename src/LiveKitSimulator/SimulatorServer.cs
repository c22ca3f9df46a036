using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LiveKitSimulator;

/// <summary>
/// A LiveKit server stand-in over real HTTP: RoomService (Twirp JSON), signed webhooks, and the control surface
/// that scripts rooms and faults, both as C# members and as JSON routes under /_simulator.
/// </summary>
public sealed class SimulatorServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private SimulatorServer(WebApplication app, SimulatorOptions options, TimeProvider time)
    {
        this.app = app;
        Options = options;
        Time = time;
        Webhooks = new WebhookSender(options, time);
        Rooms = new RoomStore(options, time, Webhooks);
        var auth = new ApiAuth(key => key == options.ApiKey ? options.ApiSecret : null, time);
        RateLimit = new RateLimit(options, time);
        var roomService = new TwirpRoomService(Rooms, Faults, Calls, RateLimit, auth, options,
            app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
        // Every answer carries the simulated server's own time, as Go's net/http does, so that a client can measure the offset.
        app.Use(next => context =>
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.Date = time.GetUtcNow().ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            });
            return next(context);
        });
        app.Map("/twirp/{**rest}", roomService.HandleAsync);
        ControlApi.Map(app, this);
    }

    public SimulatorOptions Options { get; }
    public TimeProvider Time { get; }
    public RoomStore Rooms { get; }
    public FaultInjector Faults { get; } = new();

    /// <summary>LiveKit Cloud's rate limit (<see cref="SimulatorOptions.RateLimit"/>), and every call's arrival time.</summary>
    public RateLimit RateLimit { get; }
    public WebhookSender Webhooks { get; }

    /// <summary>RoomService calls received per method (e.g. Calls["ListRooms"]), faulted and rejected ones included.</summary>
    public CallCounter Calls { get; } = new();

    /// <summary>The base URL, e.g. http://127.0.0.1:41234 (no trailing slash); give it to the client as LiveKit:Url.</summary>
    public string Url { get; private set; } = "";

    public string ApiKey => Options.ApiKey;
    public string ApiSecret => Options.ApiSecret;

    /// <summary>Makes ListRooms' num_participants lag like the server's 5 s snapshot; zero makes it exact.</summary>
    public void SetNumParticipantsStaleness(TimeSpan refreshInterval) => Rooms.NumParticipantsRefresh = refreshInterval;

    /// <summary>Starts an in-process simulator on <see cref="SimulatorOptions.Url"/> (a free loopback port by default).</summary>
    public static async Task<SimulatorServer> StartAsync(SimulatorOptions? options = null, TimeProvider? time = null)
    {
        options ??= new SimulatorOptions();
        var builder = WebApplication.CreateSlimBuilder();
        // A test's output folder also holds the daemon's appsettings.json (Urls and more): read no configuration at all.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls(options.Url);
        builder.Logging.ClearProviders();
        var server = new SimulatorServer(builder.Build(), options, time ?? TimeProvider.System);
        await server.ListenAsync();
        return server;
    }

    /// <summary>Builds the standalone server from configuration (command line, environment, appsettings).</summary>
    internal static SimulatorServer Create(WebApplicationBuilder builder)
    {
        var options = new SimulatorOptions();
        builder.Configuration.GetSection(SimulatorOptions.Section).Bind(options);
        return new SimulatorServer(builder.Build(), options, TimeProvider.System);
    }

    internal async Task ListenAsync()
    {
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>();
        Url = addresses.Addresses.First().TrimEnd('/');
    }

    internal Task WaitForShutdownAsync() => app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        Rooms.Dispose();
        await app.StopAsync();
        await Webhooks.DisposeAsync();
        await app.DisposeAsync();
    }
}
