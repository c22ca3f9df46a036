using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;
using RoomReconciler.Clock;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Hosting;

/// <summary>
/// The operators' endpoints, /metrics, /healthz and /readyz: on the public port by default, or alone on
/// Management:Port (<see cref="ManagementOptions"/>), where nothing else is served.
/// </summary>
public static class Management
{
    private static readonly string[] Paths = ["/metrics", "/healthz", "/readyz"];

    public static bool IsManagementPath(PathString path) =>
        Paths.Any(p => path.Equals(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Adds the management port to the listen addresses (Urls, or ASP.NET Core's default when unset), and what /metrics
    /// serves: this host's <see cref="MetricsExport"/> with every feature's families, declared even in the bare host that
    /// waits for the database (<see cref="DatabaseWait"/>).
    /// </summary>
    public static void AddManagementPort(this WebApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<ReconcilerMetrics>();
        builder.Services.TryAddSingleton<LiveKitMetrics>();
        builder.Services.TryAddSingleton<ClockMetrics>();
        builder.Services.TryAddSingleton<Events.EventMetrics>();
        builder.Services.TryAddSingleton<MetricsExport>();
        var port = builder.Configuration.BindKeyedOptions<ManagementOptions>().Port;
        builder.Services.AddKeyedOptions<ManagementOptions>(builder.Configuration);
        if (port == 0) return;
        var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } configured ? configured : "http://localhost:5000";
        builder.WebHost.UseUrls($"{urls};http://0.0.0.0:{port}");
    }

    /// <summary>
    /// Maps the three endpoints; with a management port, they answer there alone and everything else answers
    /// everywhere but there (404), by the local port of the connection, which a client cannot choose as it can a Host header.
    /// </summary>
    public static void MapManagementEndpoints(this WebApplication app)
    {
        var port = app.Configuration.BindKeyedOptions<ManagementOptions>().Port;
        if (port != 0)
            app.Use((context, next) =>
            {
                if ((context.Connection.LocalPort == port) == IsManagementPath(context.Request.Path)) return next(context);
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        app.MapHealthApi();
        // This host's registry (MetricsExport): the daemon's own families and the process' alone. prometheus-net's default
        // registry, with its debug families and the meters and event counters it would translate (gauges named *_total,
        // unitless durations, a label naming host, user and database), is never served; those go to OTLP instead (Telemetry).
        var registry = app.Services.GetRequiredService<MetricsExport>().Registry;
        app.MapMetrics(settings => settings.Registry = registry);
    }
}
