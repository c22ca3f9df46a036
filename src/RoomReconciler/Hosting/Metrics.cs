using Prometheus;

namespace RoomReconciler.Hosting;

/// <summary>
/// Every metric the daemon exports on /metrics, in one place so that the reconciler, the webhook receiver and
/// the clock API increment the same objects. Names follow Prometheus conventions (base units, _total counters).
/// prometheus-net has a class named Metrics too: in a file that imports Prometheus, write Hosting.Metrics.
/// </summary>
public static class Metrics
{
    private static readonly HistogramConfiguration TickBuckets = new()
    {
        Buckets = Histogram.ExponentialBuckets(0.001, 2, 14), // 1 ms .. 8 s
    };

    /// <summary>Reconcile ticks run (one tick reconciles every room once).</summary>
    public static readonly Counter Ticks = Prometheus.Metrics.CreateCounter(
        "roomreconciler_reconcile_ticks_total", "Reconcile ticks run.");

    public static readonly Histogram TickDuration = Prometheus.Metrics.CreateHistogram(
        "roomreconciler_reconcile_tick_duration_seconds", "How long one reconcile tick took.", TickBuckets);

    public static readonly Counter TickFailures = Prometheus.Metrics.CreateCounter(
        "roomreconciler_reconcile_tick_failures_total", "Reconcile ticks that failed.");

    /// <summary>
    /// When a tick last read LiveKit, in Unix seconds: "LiveKit unreadable for longer than the grace" is
    /// time() minus its maximum over the replicas (only the elected one ticks), which no counter rate can say.
    /// </summary>
    public static readonly Gauge LiveKitLastRead = Prometheus.Metrics.CreateGauge(
        "roomreconciler_livekit_last_read_timestamp_seconds", "When a reconcile tick last read LiveKit's rooms, in Unix seconds.");

    /// <summary>Clock transitions applied; kind = started|paused|resumed|ended, source = poll|webhook|api.</summary>
    public static readonly Counter Transitions = Prometheus.Metrics.CreateCounter(
        "roomreconciler_clock_transitions_total", "Clock transitions applied.", "kind", "source");

    /// <summary>Sessions ended because their clock reached Reconciler:MaxSessionDuration.</summary>
    public static readonly Counter MaxDurationEnds = Prometheus.Metrics.CreateCounter(
        "roomreconciler_sessions_max_duration_total", "Sessions ended because their clock reached Reconciler:MaxSessionDuration.");

    /// <summary>LiveKit RoomService calls; method = ListRooms|ListParticipants|...</summary>
    public static readonly Counter LiveKitCalls = Prometheus.Metrics.CreateCounter(
        "roomreconciler_livekit_calls_total", "LiveKit API calls made.", "method");

    /// <summary>LiveKit calls that failed; reason = timeout|http_status|malformed|...</summary>
    public static readonly Counter LiveKitErrors = Prometheus.Metrics.CreateCounter(
        "roomreconciler_livekit_errors_total", "LiveKit API calls that failed.", "method", "reason");

    /// <summary>Webhooks accepted; event = participant_joined|participant_left|room_finished|...</summary>
    public static readonly Counter WebhooksAccepted = Prometheus.Metrics.CreateCounter(
        "roomreconciler_webhooks_accepted_total", "LiveKit webhooks accepted.", "event");

    /// <summary>Webhooks rejected; reason = signature|malformed|too_large|...</summary>
    public static readonly Counter WebhooksRejected = Prometheus.Metrics.CreateCounter(
        "roomreconciler_webhooks_rejected_total", "LiveKit webhooks rejected.", "reason");

    /// <summary>Clock API answers; endpoint = snapshot|stream, status = the HTTP status code.</summary>
    public static readonly Counter ClockRequests = Prometheus.Metrics.CreateCounter(
        "roomreconciler_clock_requests_total", "Clock API requests answered.", "endpoint", "status");

    public static readonly Gauge StreamSubscribers = Prometheus.Metrics.CreateGauge(
        "roomreconciler_clock_stream_subscribers", "Open clock streams (Server-Sent Events).");

    /// <summary>1 while the session_clock listener is connected and the snapshot cache is trusted.</summary>
    public static readonly Gauge ClockListenerConnected = Prometheus.Metrics.CreateGauge(
        "roomreconciler_clock_listener_connected", "1 while the clock change listener is connected and the cache is trusted.");

    public static readonly Counter ClockListenerReconnects = Prometheus.Metrics.CreateCounter(
        "roomreconciler_clock_listener_connects_total", "Times the clock change listener (re)connected.");

    public static readonly Gauge ClockCacheEntries = Prometheus.Metrics.CreateGauge(
        "roomreconciler_clock_cache_entries", "Sessions (and known-unknown ids) held in the snapshot cache.");

    public static readonly Gauge DatabaseClockUncertainty = Prometheus.Metrics.CreateGauge(
        "roomreconciler_database_clock_uncertainty_seconds", "Error bound of the estimated database clock behind server_now.");
}
