namespace RoomReconciler.Reconciliation;

/// <summary>A participant_joined webhook: the identity became ACTIVE at about <paramref name="At"/> (createdAt, whole seconds).</summary>
public sealed record ActiveHint(string Identity, DateTimeOffset At)
{
    /// <summary>
    /// The later of joined_at and createdAt: joined_at is the join request, which a JOINING participant may be far
    /// past, and createdAt is truncated to the second; neither is after the moment it became ACTIVE.
    /// </summary>
    public ObservedParticipant ApplyTo(ObservedParticipant p) =>
        p.Identity == Identity && p.Active && (p.JoinedAt is null || p.JoinedAt < At) ? p with { JoinedAt = At } : p;
}
