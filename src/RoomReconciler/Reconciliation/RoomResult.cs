namespace RoomReconciler.Reconciliation;

/// <summary>What reconciling one room did, and when to look at it again (controller-runtime's Result{RequeueAfter}).</summary>
/// <param name="RecheckAt">the deadline of a running grace, in database time: the room must be reconciled again then</param>
/// <param name="Clock">the database time the decision was made in, which turns <paramref name="RecheckAt"/> into a delay</param>
public sealed record RoomResult(IReadOnlyList<AppliedTransition> Applied, DateTimeOffset? RecheckAt, DatabaseTime Clock);
