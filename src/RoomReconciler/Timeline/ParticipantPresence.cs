using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

public sealed record ParticipantPresence(
    [property: JsonPropertyName("identity")] string Identity,
    [property: JsonPropertyName("intervals")] IReadOnlyList<PresenceInterval> Intervals);
