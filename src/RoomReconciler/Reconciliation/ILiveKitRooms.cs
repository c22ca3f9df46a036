namespace RoomReconciler.Reconciliation;

/// <summary>
/// What the reconciler needs from LiveKit, and no more: the narrow seam between observing and deciding.
/// Implementations throw on anything unreadable (error, timeout, garbage); the caller treats that as unknown.
/// </summary>
public interface ILiveKitRooms
{
    /// <summary>Every room on the server.</summary>
    Task<IReadOnlyList<ListedRoom>> ListRoomsAsync(CancellationToken ct);

    /// <summary>The room's participants (none for an unknown or closed room).</summary>
    Task<IReadOnlyList<ObservedParticipant>> ListParticipantsAsync(string room, CancellationToken ct);
}
