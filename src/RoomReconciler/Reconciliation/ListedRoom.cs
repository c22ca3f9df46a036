namespace RoomReconciler.Reconciliation;

/// <summary>A room as ListRooms lists it: enough to tell whether it changed since the last look.</summary>
public sealed record ListedRoom(string Name, string Sid, int NumParticipants);
