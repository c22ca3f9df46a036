using System.Diagnostics.Metrics;
using RoomReconciler.Hosting;

namespace RoomReconciler.Events;

/// <summary>
/// Outbound events, on a meter of this host's <see cref="IMeterFactory"/>. Named as the Prometheus families they
/// become (<see cref="MetricsExport"/>); the alert on the oldest undelivered event is in deploy/prometheus.
/// </summary>
public sealed class EventMetrics(IMeterFactory meters)
{
    public const string MeterName = "RoomReconciler.Events";

    private readonly Counter<long> _delivered = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_events_delivered_total", unit: null, description: "Event deliveries acknowledged with a 2xx.", tags: MetricsExport.Labels("endpoint"));

    private readonly Counter<long> _failed = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_events_failed_total", unit: null, description: "Event delivery attempts that failed (to be retried, or dead).", tags: MetricsExport.Labels("endpoint", "reason"));

    private readonly Counter<long> _dead = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_events_dead_total", unit: null, description: "Event deliveries that failed every retry of the schedule.", tags: MetricsExport.Labels("endpoint"));

    private readonly Counter<long> _disabled = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_events_endpoint_disabled_total", unit: null, description: "Endpoints disabled by a 410 Gone.", tags: MetricsExport.Labels("endpoint"));

    private readonly Gauge<long> _backlog = meters.Create(MeterName).CreateGauge<long>(
        "roomreconciler_events_backlog", unit: null, description: "Event deliveries not yet acknowledged, dead ones excluded.", tags: MetricsExport.Labels("endpoint"));

    private readonly Gauge<double> _oldest = meters.Create(MeterName).CreateGauge<double>(
        "roomreconciler_events_oldest_undelivered_seconds", description: "Age of the oldest event not yet acknowledged (0 when none).", tags: MetricsExport.Labels("endpoint"));

    private readonly Counter<long> _databaseErrors = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_events_database_errors_total", description: "Delivery passes that could not use the database (retried on Events:PollInterval).");

    public void DatabaseError() => _databaseErrors.Add(1);

    public void Delivered(int endpoint) => _delivered.Add(1, Endpoint(endpoint));

    /// <param name="reason">status (an HTTP status outside 2xx), timeout or connection</param>
    public void Failed(int endpoint, string reason) => _failed.Add(1, Endpoint(endpoint), new("reason", reason));

    public void Dead(int endpoint) => _dead.Add(1, Endpoint(endpoint));

    public void Disabled(int endpoint) => _disabled.Add(1, Endpoint(endpoint));

    /// <param name="nowMs">now, Unix milliseconds</param>
    public void Backlog(EndpointStatus status, long nowMs)
    {
        _backlog.Record(status.Backlog, Endpoint(status.Id));
        _oldest.Record(status.OldestUndelivered is { } oldest ? Math.Max(0, nowMs - oldest) / 1000.0 : 0, Endpoint(status.Id));
    }

    private static KeyValuePair<string, object?> Endpoint(int endpoint) =>
        new("endpoint", endpoint.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
