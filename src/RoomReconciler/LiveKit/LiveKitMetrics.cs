using System.Diagnostics.Metrics;
using RoomReconciler.Hosting;

namespace RoomReconciler.LiveKit;

/// <summary>
/// LiveKit's RoomService calls and webhooks, on a meter of this host's <see cref="IMeterFactory"/>. Named as the
/// Prometheus families they become (<see cref="MetricsExport"/>).
/// </summary>
public sealed class LiveKitMetrics
{
    public const string MeterName = "RoomReconciler.LiveKit";

    private readonly Counter<long> _calls;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _webhooksAccepted;
    private readonly Counter<long> _webhooksRejected;

    public LiveKitMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _calls = meter.CreateCounter<long>("roomreconciler_livekit_calls_total",
            description: "LiveKit API calls made.", unit: null, tags: MetricsExport.Labels("method"));
        _errors = meter.CreateCounter<long>("roomreconciler_livekit_errors_total",
            description: "LiveKit API calls that failed.", unit: null, tags: MetricsExport.Labels("method", "reason"));
        _webhooksAccepted = meter.CreateCounter<long>("roomreconciler_webhooks_accepted_total",
            description: "LiveKit webhooks accepted.", unit: null, tags: MetricsExport.Labels("event"));
        _webhooksRejected = meter.CreateCounter<long>("roomreconciler_webhooks_rejected_total",
            description: "LiveKit webhooks rejected.", unit: null, tags: MetricsExport.Labels("reason"));
    }

    /// <param name="method">ListRooms, ListParticipants, ...</param>
    /// <param name="outcome">ok, cancelled, or the failure's reason (timeout, http_status, malformed, ...), which is counted as an error</param>
    public void Call(string method, string outcome)
    {
        _calls.Add(1, new KeyValuePair<string, object?>("method", method));
        if (outcome is not ("ok" or "cancelled")) _errors.Add(1, new("method", method), new("reason", outcome));
    }

    /// <param name="evt">participant_joined, participant_left, room_finished, ..., or duplicate</param>
    public void WebhookAccepted(string evt) => _webhooksAccepted.Add(1, new KeyValuePair<string, object?>("event", evt));

    /// <param name="reason">signature, malformed, too_large or unavailable</param>
    public void WebhookRejected(string reason) => _webhooksRejected.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
