using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

/// <summary>One row of session_events.</summary>
public sealed record TimelineEvent(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("effective_at")] string EffectiveAt,
    [property: JsonPropertyName("created_at")] string CreatedAt,
    [property: JsonPropertyName("lag_ms"), Description("created_at - effective_at: how late the transition was written")] long LagMs,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("details")] JsonElement Details);
