namespace RoomReconciler.Reconciliation;

/// <summary>What LiveKit said about a room: its participants, an empty/absent room, or nothing readable.</summary>
public sealed record RoomObservation(IReadOnlyList<ObservedParticipant>? Participants)
{
    /// <summary>LiveKit could not be read: unknown is not zero, so nothing may change.</summary>
    public static readonly RoomObservation Unknown = new((IReadOnlyList<ObservedParticipant>?)null);

    /// <summary>LiveKit lists no such room: it is empty (LiveKit closes empty rooms after departure_timeout).</summary>
    public static readonly RoomObservation Absent = new([]);

    public bool IsKnown => Participants is not null;
}
