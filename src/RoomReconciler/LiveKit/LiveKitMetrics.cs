using Prometheus;

namespace RoomReconciler.LiveKit;

/// <summary>Counters on /metrics: how LiveKit answers us, and what it sends us.</summary>
internal static class LiveKitMetrics
{
    public static readonly Counter Calls = Metrics.CreateCounter(
        "roomreconciler_livekit_calls_total", "RoomService calls by method and outcome (ok, cancelled, or the error kind).",
        "method", "outcome");

    public static readonly Counter Webhooks = Metrics.CreateCounter(
        "roomreconciler_livekit_webhooks_total", "Webhook requests by outcome (accepted, duplicate, or why rejected).",
        "outcome");
}
