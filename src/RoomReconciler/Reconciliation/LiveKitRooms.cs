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

/// <summary>The RoomService client, reduced to what the decision reads.</summary>
public sealed class LiveKitRooms(RoomServiceClient client, RequestBudget budget) : ILiveKitRooms
{
    public async Task<IReadOnlyList<ListedRoom>> ListRoomsAsync(CancellationToken ct) =>
        (await client.ListRooms(null, ct)).Select(r => new ListedRoom(r.Name, r.Sid, (int)r.NumParticipants)).ToList();

    public async Task<IReadOnlyList<ObservedParticipant>> ListParticipantsAsync(string room, RequestPriority priority, CancellationToken ct) =>
        (await client.ListParticipants(room, ct, priority)).Select(Observe).ToList();

    public ValueTask<int> AffordAsync(RequestPriority priority, int wanted, TimeSpan? every, CancellationToken ct) =>
        budget.TakeUpToAsync(priority, wanted, ct, every);

    public static ObservedParticipant Observe(ParticipantInfo p) => new(
        p.Identity,
        // LiveKit treats a holder of the deprecated agent or recorder grant as an agent or recorder whatever its kind
        // (pkg/rtc/participant.go IsAgent, IsRecorder), and so does the clock.
        p.Permission?.Agent == true ? ParticipantCategory.Agent
        : p.Permission?.Recorder == true ? ParticipantCategory.Egress
        : p.Kind switch
        {
            ParticipantKind.Standard => ParticipantCategory.Standard,
            ParticipantKind.Ingress => ParticipantCategory.Ingress,
            ParticipantKind.Egress => ParticipantCategory.Egress,
            ParticipantKind.Sip => ParticipantCategory.Sip,
            ParticipantKind.Agent => ParticipantCategory.Agent,
            ParticipantKind.Connector => ParticipantCategory.Connector,
            ParticipantKind.Bridge => ParticipantCategory.Bridge,
            _ => ParticipantCategory.Other,
        },
        p.IsHidden,
        p.State == ParticipantState.Active,
        p.JoinedAtMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(p.JoinedAtMs) : null);
}
