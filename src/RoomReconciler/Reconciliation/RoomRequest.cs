namespace RoomReconciler.Reconciliation;

/// <summary>
/// A request to reconcile one session's room now, outside the poll (controller-runtime's reconcile.Request): from a
/// webhook, with what its event tells about timing, or a recheck at the deadline of a grace.
/// </summary>
/// <param name="Source">what asked, recorded on the transitions it applies; a recheck keeps the source of the reconcile that scheduled it</param>
/// <param name="DropHint">when the count probably fell (a participant_left webhook)</param>
/// <param name="ActiveHint">when a participant became ACTIVE (a participant_joined webhook)</param>
public sealed record RoomRequest(Guid SessionId, ClockSource Source, DateTimeOffset? DropHint = null, ActiveHint? ActiveHint = null);
