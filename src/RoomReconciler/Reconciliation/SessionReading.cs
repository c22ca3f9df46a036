namespace RoomReconciler.Reconciliation;

/// <summary>A session as read for reconciling, with the row versions its decision must be applied against.</summary>
public sealed record SessionReading(StoredSession Session, string Version, string? PresenceVersion, string? RoomSid, int? RoomNumParticipants);
