using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

/// <summary>The session_presence row: the reconciler's last look at the room.</summary>
public sealed record PresenceRow(
    [property: JsonPropertyName("participants")] IReadOnlyList<string> Participants,
    [property: JsonPropertyName("below_since")] string? BelowSince,
    [property: JsonPropertyName("observed_at")] string ObservedAt,
    [property: JsonPropertyName("source")] string Source);
