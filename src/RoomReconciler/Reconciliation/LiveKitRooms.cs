namespace RoomReconciler.Reconciliation;

/// <summary>A room as ListRooms lists it: enough to tell whether it changed since the last look.</summary>
public sealed record ListedRoom(string Name, string Sid, int NumParticipants);

/// <summary>
/// What the reconciler needs from LiveKit, and no more: the narrow seam between observing and deciding.
/// Implementations throw on anything unreadable (error, timeout, garbage); the caller treats that as unknown.
/// </summary>
public interface ILiveKitRooms
{
    /// <summary>Every room on the server.</summary>
    Task<IReadOnlyList<ListedRoom>> ListRoomsAsync(CancellationToken ct);

    /// <summary>The room's participants (none for an unknown room).</summary>
    Task<IReadOnlyList<ObservedParticipant>> ListParticipantsAsync(string room, CancellationToken ct);
}
