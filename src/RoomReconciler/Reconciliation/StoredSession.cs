using RoomReconciler.Clock;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// A session as the reconciler reads it, in one query with the database's now: its clock (the one clock type of
/// the API and the timeline too) and its presence, the reconciler's own columns.
/// </summary>
public sealed record StoredSession(
    ClockState Clock,
    IReadOnlyList<string> Participants,
    DateTimeOffset? BelowSince,
    DateTimeOffset? ObservedAt)
{
    public Guid Id => Clock.SessionId;

    public DateTimeOffset? StartedAt => ClockTime.Moment(Clock.StartedAt);

    public DateTimeOffset? LastStateChangeAt => ClockTime.Moment(Clock.LastStateChangeAt);

    public TimeSpan TotalPaused => TimeSpan.FromMilliseconds(Clock.TotalPausedMs);
}
