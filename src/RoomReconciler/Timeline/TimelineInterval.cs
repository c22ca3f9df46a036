using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

/// <summary>A stretch of the clock running or paused; <c>open</c> when it lasts until now (<c>to</c> is then server_now).</summary>
public sealed record TimelineInterval(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("ms")] long Ms,
    [property: JsonPropertyName("open")] bool Open,
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null,
    [property: JsonPropertyName("source"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source = null,
    [property: JsonPropertyName("end_reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EndReason = null);
