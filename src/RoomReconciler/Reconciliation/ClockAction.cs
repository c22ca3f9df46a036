namespace RoomReconciler.Reconciliation;

/// <summary>One transition a decision asks for, effective at a database time, with the reason the event log records.</summary>
public sealed record ClockAction(ClockTransition Transition, DateTimeOffset EffectiveAt, string Reason);
