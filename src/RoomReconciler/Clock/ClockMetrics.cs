using System.Diagnostics.Metrics;

namespace RoomReconciler.Clock;

/// <summary>
/// The clock API, its streams and its cache, on a meter of this host's <see cref="IMeterFactory"/> (which hands out one
/// meter per name). Named as the Prometheus families they become (<see cref="Hosting.MetricsExport"/>).
/// </summary>
public sealed class ClockMetrics(IMeterFactory meters)
{
    public const string MeterName = "RoomReconciler.Clock";

    private readonly UpDownCounter<long> _streamSubscribers = meters.Create(MeterName).CreateUpDownCounter<long>(
        "roomreconciler_clock_stream_subscribers", description: "Open clock streams (Server-Sent Events).");

    public void StreamOpened() => _streamSubscribers.Add(1);

    public void StreamClosed() => _streamSubscribers.Add(-1);

    private readonly Counter<long> _streamsRefused = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_clock_streams_refused_total", unit: null, description: "Clock streams refused with 429 by a stream limit.", tags: Hosting.MetricsExport.Labels("limit"));

    public void StreamRefused(ClockStreamLimit limit) => _streamsRefused.Add(1, new KeyValuePair<string, object?>("limit", limit == ClockStreamLimit.Token ? "token" : "global"));

    private readonly Counter<long> _requests = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_clock_requests_total", unit: null, description: "Clock API requests answered.", tags: Hosting.MetricsExport.Labels("endpoint", "status"));

    /// <param name="endpoint">snapshot or stream</param>
    public void Answered(string endpoint, int status) =>
        _requests.Add(1, new("endpoint", endpoint), new("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private readonly Gauge<long> _listenerConnected = meters.Create(MeterName).CreateGauge<long>(
        "roomreconciler_clock_listener_connected", description: "1 while the clock change listener is connected and the cache is trusted.");

    /// <summary>Whether the change listener is connected, so that the cache is trusted.</summary>
    public void ListenerConnected(bool connected) => _listenerConnected.Record(connected ? 1 : 0);

    private readonly Counter<long> _listenerConnects = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_clock_listener_connects_total", description: "Times the clock change listener (re)connected.");

    public void ListenerConnecting() => _listenerConnects.Add(1);

    private readonly Counter<long> _cacheLoads = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_clock_cache_loads_total", description: "Reads of sessions the cache could not answer: one query each, batched.");

    private readonly Counter<long> _cacheLoadedSessions = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_clock_cache_loaded_sessions_total", description: "Sessions read by those queries.");

    /// <summary>One query reading <paramref name="sessions"/> ids that the cache missed.</summary>
    public void CacheLoad(int sessions)
    {
        _cacheLoads.Add(1);
        _cacheLoadedSessions.Add(sessions);
    }

    private readonly Gauge<long> _cacheEntries = meters.Create(MeterName).CreateGauge<long>(
        "roomreconciler_clock_cache_entries", description: "Sessions (and known-unknown ids) held in the snapshot cache.");

    public void CacheEntries(int count) => _cacheEntries.Record(count);

    private readonly Gauge<double> _databaseClockUncertainty = meters.Create(MeterName).CreateGauge<double>(
        "roomreconciler_database_clock_uncertainty_seconds", description: "Error bound of the estimated database clock behind server_now.");

    public void DatabaseClockUncertainty(TimeSpan bound) => _databaseClockUncertainty.Record(bound.TotalSeconds);
}
