using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

/// <summary>When an identity was counted in the room, as far as the recorded transitions and the presence row tell.</summary>
public sealed record PresenceInterval(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("open")] bool Open);
