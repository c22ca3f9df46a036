using System.Diagnostics.Metrics;
using RoomReconciler.Hosting;

namespace RoomReconciler.Clock;

/// <summary>
/// The clock API, its streams and its cache, on a meter of this host's <see cref="IMeterFactory"/>. Named as the
/// Prometheus families they become (<see cref="MetricsExport"/>).
/// </summary>
public sealed class ClockMetrics
{
    public const string MeterName = "RoomReconciler.Clock";

    private readonly Counter<long> _requests;
    private readonly UpDownCounter<long> _streamSubscribers;
    private readonly Gauge<long> _listenerConnected;
    private readonly Counter<long> _listenerConnects;
    private readonly Gauge<long> _cacheEntries;
    private readonly Gauge<double> _databaseClockUncertainty;

    public ClockMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("roomreconciler_clock_requests_total",
            description: "Clock API requests answered.", unit: null, tags: MetricsExport.Labels("endpoint", "status"));
        _streamSubscribers = meter.CreateUpDownCounter<long>("roomreconciler_clock_stream_subscribers",
            description: "Open clock streams (Server-Sent Events).");
        _listenerConnected = meter.CreateGauge<long>("roomreconciler_clock_listener_connected",
            description: "1 while the clock change listener is connected and the cache is trusted.");
        _listenerConnects = meter.CreateCounter<long>("roomreconciler_clock_listener_connects_total",
            description: "Times the clock change listener (re)connected.");
        _cacheEntries = meter.CreateGauge<long>("roomreconciler_clock_cache_entries",
            description: "Sessions (and known-unknown ids) held in the snapshot cache.");
        _databaseClockUncertainty = meter.CreateGauge<double>("roomreconciler_database_clock_uncertainty_seconds",
            description: "Error bound of the estimated database clock behind server_now.");
    }

    /// <param name="endpoint">snapshot or stream</param>
    public void Answered(string endpoint, int status) =>
        _requests.Add(1, new("endpoint", endpoint), new("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public void StreamOpened() => _streamSubscribers.Add(1);

    public void StreamClosed() => _streamSubscribers.Add(-1);

    /// <summary>Whether the change listener is connected, so that the cache is trusted.</summary>
    public void ListenerConnected(bool connected) => _listenerConnected.Record(connected ? 1 : 0);

    public void ListenerConnecting() => _listenerConnects.Add(1);

    public void CacheEntries(int count) => _cacheEntries.Record(count);

    public void DatabaseClockUncertainty(TimeSpan bound) => _databaseClockUncertainty.Record(bound.TotalSeconds);
}
