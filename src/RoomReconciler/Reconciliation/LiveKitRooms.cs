using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

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
