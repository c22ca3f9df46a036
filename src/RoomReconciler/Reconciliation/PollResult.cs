namespace RoomReconciler.Reconciliation;

/// <summary>What one poll tick did, for the Debug summary, the metrics and the rechecks it leaves to the <see cref="RoomQueue"/>.</summary>
/// <param name="Verified">rooms due a look although their listing did not change (at most ⌈listed / 6⌉)</param>
/// <param name="Rechecks">sessions whose grace is running, each with its deadline in database time</param>
/// <param name="Clock">the database time the decisions were made in</param>
public sealed record PollResult(int Sessions, int ParticipantLookups, int Verified, bool LiveKitFailed, IReadOnlyList<AppliedTransition> Applied,
    IReadOnlyList<(Guid SessionId, DateTimeOffset At)> Rechecks, DatabaseTime Clock)
{
    public int Transitions => Applied.Count(a => a.Outcome == ApplyOutcome.Changed);
}
