namespace RoomReconciler.Reconciliation;

/// <summary>What applying one action did: a row of session_reconcile_apply, mapped once by <see cref="SessionStore"/>.</summary>
/// <param name="Transition">the action's transition; null only for a <see cref="ApplyOutcome.Stale"/> decision, which applied none</param>
/// <param name="Reason">the action's reason, as the event log records it</param>
/// <param name="Error">why a <see cref="ApplyOutcome.Rejected"/> transition was refused</param>
/// <param name="EffectiveAt">when a changed clock changed (database time)</param>
/// <param name="CreatedAt">when its event was written (database time)</param>
public sealed record AppliedTransition(Guid SessionId, ApplyOutcome Outcome, ClockTransition? Transition, string? Reason, string? Error,
    DateTimeOffset? EffectiveAt, DateTimeOffset? CreatedAt);
