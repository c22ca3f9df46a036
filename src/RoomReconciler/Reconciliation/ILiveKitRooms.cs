using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// What the reconciler needs from LiveKit, and no more: the narrow seam between observing and deciding.
/// Implementations throw on anything unreadable (error, timeout, garbage, throttled); the caller treats that as unknown.
/// </summary>
public interface ILiveKitRooms
{
    /// <summary>Every room on the server.</summary>
    Task<IReadOnlyList<ListedRoom>> ListRoomsAsync(CancellationToken ct);

    /// <summary>The room's participants (none for an unknown or closed room); the call waits for room in the request budget at its priority.</summary>
    Task<IReadOnlyList<ObservedParticipant>> ListParticipantsAsync(string room, RequestPriority priority, CancellationToken ct);

    /// <summary>
    /// How many of <paramref name="wanted"/> looks the request budget allows now at this priority, taken at once; looked
    /// at with <see cref="RequestPriority.Prepaid"/>. A batch taken once every <paramref name="every"/> gets at most its
    /// share of the window pro rata (<see cref="RequestBudget.TakeUpToAsync"/>).
    /// </summary>
    ValueTask<int> AffordAsync(RequestPriority priority, int wanted, TimeSpan? every, CancellationToken ct);
}
