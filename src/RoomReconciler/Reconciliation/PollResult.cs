namespace RoomReconciler.Reconciliation;

/// <summary>What one poll tick did, for the Debug summary, the metrics and the rechecks it leaves to the <see cref="RoomQueue"/>.</summary>
/// <param name="Verified">rooms looked at although their listing did not change (at most ⌈listed / 6⌉, fewer on a short request budget)</param>
/// <param name="Rechecks">sessions whose grace is running, each with its deadline in database time</param>
/// <param name="Clock">the database time the decisions were made in</param>
/// <param name="VerificationPeriod">how long ago the listed room looked at longest ago was seen: every room has been looked at within it</param>
public sealed record PollResult(int Sessions, int ParticipantLookups, int Verified, bool LiveKitFailed, IReadOnlyList<AppliedTransition> Applied,
    IReadOnlyList<(Guid SessionId, DateTimeOffset At)> Rechecks, DatabaseTime Clock, TimeSpan? VerificationPeriod = null)
{
    public int Transitions => Applied.Count(a => a.Outcome == ApplyOutcome.Changed);
}
