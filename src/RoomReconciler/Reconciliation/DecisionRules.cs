namespace RoomReconciler.Reconciliation;

/// <param name="MaxSessionDuration">elapsed time at which a clock ends; zero for no cap</param>
public sealed record DecisionRules(int MinParticipants, TimeSpan GracePeriod, bool AutoStart, IReadOnlySet<ParticipantCategory> CountedCategories,
    TimeSpan MaxSessionDuration = default)
{
    public static DecisionRules From(ReconcilerOptions options) =>
        new(options.MinParticipants, options.GracePeriod, options.AutoStart, options.CountedCategories(), options.MaxSessionDuration);
}
