using System.Text.Json.Nodes;

namespace RoomReconciler.Reconciliation;

/// <summary>One decision ready to apply, and what LiveKit's listing said of the room when it changed.</summary>
public sealed record PendingDecision(SessionReading Reading, Decision Decision, string? RoomSid, int? RoomNumParticipants, JsonObject? Details = null)
{
    public bool RoomChanged => RoomSid != Reading.RoomSid || RoomNumParticipants != Reading.RoomNumParticipants;
    public bool HasWork => Decision.Actions.Count > 0 || Decision.Presence is not null || RoomChanged;
}
