using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly.Telemetry;
using RoomReconciler.Hosting;

namespace RoomReconciler.LiveKit;

public static class LiveKitRegistration
{
    /// <summary>ListRooms of every room is about 400 bytes a room (40 MB at 100k rooms); past this a body fails as Transport.</summary>
    private const int MaxResponseBytes = 128 * 1024 * 1024;

    /// <summary>
    /// The RoomService client (typed HttpClient with the standard resilience handler), its token cache, the webhook
    /// verifier and receiver, the dedupe store, a logging webhook event handler, and the `check` probe. Binds LiveKit
    /// options unless the host already has. The client's <see cref="RoomServiceBudget"/> is its caller's to register:
    /// it follows the cadence the client is called at (the reconciler's poll interval), which this feature does not know.
    /// </summary>
    public static IServiceCollection AddLiveKit(this IServiceCollection services, IConfiguration configuration)
    {
        AddOptionsOnce<LiveKitOptions>(services, configuration);
        services.TryAddSingleton(TimeProvider.System);

        services.TryAddSingleton<ServerTokens>();
        services.TryAddSingleton<RequestBudget>();
        services.AddMetrics().TryAddSingleton<LiveKitMetrics>();
        services.AddHttpClient<RoomServiceClient>((provider, http) =>
            {
                http.BaseAddress = provider.GetRequiredService<IOptions<LiveKitOptions>>().Value.HttpBaseUri;
                // The hard cap of a call: unlike the resilience handler's timeouts it also covers reading the body.
                http.Timeout = provider.GetRequiredService<RoomServiceBudget>().Total;
                http.MaxResponseContentBufferSize = MaxResponseBytes;
                http.DefaultRequestHeaders.UserAgent.ParseAdd("RoomReconciler");
            })
            // HttpClient's per-request Information lines would repeat every poll; the metrics count calls instead.
            .RemoveAllLoggers()
            .AddStandardResilienceHandler()
            .Configure((resilience, provider) =>
                provider.GetRequiredService<RoomServiceBudget>().ApplyTo(resilience, provider.GetRequiredService<RequestBudget>()));
        // Polly logs every retried attempt as a warning with a stack trace; the caller already logs the one
        // LiveKitException a failed call ends in, so this client's attempts and retries are only Debug.
        services.Configure<TelemetryOptions>(telemetry =>
        {
            var severity = telemetry.SeverityProvider;
            telemetry.SeverityProvider = args =>
                args.Source.PipelineName?.StartsWith(nameof(RoomServiceClient), StringComparison.Ordinal) == true
                    ? ResilienceEventSeverity.Debug
                    : severity?.Invoke(args) ?? args.Event.Severity;
        });

        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<LiveKitOptions>>().Value;
            return new TokenVerifier(options.ApiKey!, options.ApiSecret!, provider.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton<WebhookReceiver>();
        services.TryAddSingleton<WebhookEventStore>();
        services.AddSingleton<IRoomEventHandler, LoggingRoomEventHandler>();
        services.AddTransient<IStartupCheck, LiveKitCheck>();
        services.AddHttpClient(nameof(ClockOffsetCheck), http => http.Timeout = TimeSpan.FromSeconds(5)).RemoveAllLoggers();
        services.AddTransient<IStartupCheck, ClockOffsetCheck>();
        return services;
    }

    private static void AddOptionsOnce<T>(IServiceCollection services, IConfiguration configuration)
        where T : class, IKeyedOptions, new()
    {
        if (services.All(d => d.ImplementationType != typeof(KeyedOptionsValidator<T>)))
            services.AddKeyedOptions<T>(configuration);
    }
}
