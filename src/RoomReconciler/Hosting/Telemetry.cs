using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace RoomReconciler.Hosting;

/// <summary>
/// OpenTelemetry traces and metrics over OTLP, configured by the standard OTEL_* variables alone
/// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ...).
/// Off unless an OTLP endpoint is set: an exporter retrying against a collector that does not exist would only
/// cost memory and log noise. Prometheus' /metrics is served either way (<see cref="Management"/>); the daemon's own
/// families reach OTLP too (<see cref="MetricsExport"/>).
/// </summary>
public static class Telemetry
{
    public const string EndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string DefaultServiceName = "roomreconciler";

    /// <summary>The daemon's own span sources, one per feature (ReconcileTracing, WebhookTracing, ClockTracing).</summary>
    public const string Sources = "RoomReconciler.*";

    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        if (!Enabled(configuration)) return services;
        services.AddOpenTelemetry()
            // OTEL_SERVICE_NAME wins when set; AddService would otherwise replace it with ours.
            .ConfigureResource(r => r.AddService(configuration["OTEL_SERVICE_NAME"] ?? DefaultServiceName, serviceVersion: Cli.Version))
            .WithTracing(tracing => tracing
                .AddSource(Sources)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !Management.IsManagementPath(context.Request.Path))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddOtlpExporter())
            .WithMetrics(metrics => metrics
                // The families as /metrics has them, histograms as _count and _sum (MetricsExport); the features' own
                // meters are not added, or every count would arrive twice.
                .AddMeter(MetricsExport.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddOtlpExporter());
        return services;
    }

    /// <summary>An endpoint for all signals, or for traces or metrics alone, as the OTLP exporter's specification allows.</summary>
    public static bool Enabled(IConfiguration configuration) =>
        new[] { EndpointKey, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" }
            .Any(key => !string.IsNullOrWhiteSpace(configuration[key]));
}
