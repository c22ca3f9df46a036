using System.Diagnostics.Metrics;
using RoomReconciler.Hosting;

namespace RoomReconciler.LiveKit;

/// <summary>
/// LiveKit's RoomService calls and webhooks, on a meter of this host's <see cref="IMeterFactory"/> (which hands out one
/// meter per name). Named as the Prometheus families they become (<see cref="MetricsExport"/>).
/// </summary>
public sealed class LiveKitMetrics(IMeterFactory meters)
{
    public const string MeterName = "RoomReconciler.LiveKit";

    private readonly Counter<long> _calls = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_livekit_calls_total", unit: null, description: "LiveKit API calls made.", tags: MetricsExport.Labels("method"));

    private readonly Counter<long> _errors = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_livekit_errors_total", unit: null, description: "LiveKit API calls that failed.", tags: MetricsExport.Labels("method", "reason"));

    /// <param name="method">ListRooms, ListParticipants, ...</param>
    /// <param name="outcome">ok, cancelled, or the failure's reason (timeout, http_status, malformed, ...), which is counted as an error</param>
    public void Call(string method, string outcome)
    {
        _calls.Add(1, new KeyValuePair<string, object?>("method", method));
        if (outcome is not ("ok" or "cancelled")) _errors.Add(1, new("method", method), new("reason", outcome));
    }

    private readonly Counter<long> _throttled = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_livekit_throttled_total", unit: null, description: "LiveKit API calls answered 429 resource_exhausted: not retried, not counted by the circuit breaker.",
        tags: MetricsExport.Labels("method"));

    public void Throttled(string method) => _throttled.Add(1, new KeyValuePair<string, object?>("method", method));

    private readonly Counter<long> _budgetWaits = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_livekit_budget_waits_total", unit: null, description: "LiveKit calls that waited for room in the request budget.",
        tags: MetricsExport.Labels("priority"));

    public void BudgetWait(RequestPriority priority) => _budgetWaits.Add(1, new KeyValuePair<string, object?>("priority", Name(priority)));

    private readonly Counter<long> _budgetDeferred = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_livekit_budget_deferred_total", unit: null, description: "Room looks left for a later tick because the request budget was spent.",
        tags: MetricsExport.Labels("priority"));

    public void BudgetDeferred(RequestPriority priority, int rooms) => _budgetDeferred.Add(rooms, new KeyValuePair<string, object?>("priority", Name(priority)));

    private readonly Gauge<double> _budgetUsed = meters.Create(MeterName).CreateGauge<double>(
        "roomreconciler_livekit_budget_used_ratio", description: "LiveKit calls granted in the current request window (all replicas), as a share of LiveKit:RequestsPerMinute.");

    public void BudgetSpent(int spent, int limit) => _budgetUsed.Record(limit > 0 ? (double)spent / limit : 0);

    private static string Name(RequestPriority priority) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(priority.ToString());

    private readonly Counter<long> _webhooksAccepted = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_webhooks_accepted_total", unit: null, description: "LiveKit webhooks accepted.", tags: MetricsExport.Labels("event"));

    /// <param name="evt">participant_joined, participant_left, room_finished, ..., or duplicate</param>
    public void WebhookAccepted(string evt) => _webhooksAccepted.Add(1, new KeyValuePair<string, object?>("event", evt));

    private readonly Counter<long> _webhooksRejected = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_webhooks_rejected_total", unit: null, description: "LiveKit webhooks rejected.", tags: MetricsExport.Labels("reason"));

    /// <param name="reason">signature, malformed, too_large or unavailable</param>
    public void WebhookRejected(string reason) => _webhooksRejected.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
