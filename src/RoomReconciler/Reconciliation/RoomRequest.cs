using System.Collections.Immutable;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// A request to reconcile one session's room now, outside the poll (controller-runtime's reconcile.Request): from a
/// webhook, with what its event tells, or a recheck at the deadline of a grace. Requests for one room that arrive
/// before it is reconciled are merged into one (<see cref="Merge"/>).
/// </summary>
/// <param name="Source">what asked, recorded on the transitions it applies; a recheck keeps the source of the reconcile that scheduled it</param>
/// <param name="Priority">how its LiveKit call spends the request budget: a due grace first, then a webhook</param>
/// <param name="DropHint">when the count probably fell (a participant_left webhook)</param>
/// <param name="ActiveHint">when a participant became ACTIVE (a participant_joined webhook)</param>
/// <param name="Departed">
/// identities that webhooks said left: decided from the stored participants without a LiveKit call (a grace that starts
/// is checked with one at its deadline), and before any look merged into the same request
/// </param>
/// <param name="Closed">room_finished: nobody is left, decided without a call</param>
/// <param name="Look">the room must be read from LiveKit (a join, a deadline)</param>
/// <param name="DeadlineOnly">only the deadline of a grace asked (no webhook merged in): nothing to look at once that grace is over</param>
public sealed record RoomRequest(Guid SessionId, ClockSource Source, RequestPriority Priority = RequestPriority.Webhook,
    DateTimeOffset? DropHint = null, ActiveHint? ActiveHint = null, ImmutableHashSet<string>? Departed = null, bool Closed = false,
    bool DeadlineOnly = false, bool Look = true)
{
    /// <summary>A recheck at the deadline of a grace, which spends the budget first.</summary>
    public static RoomRequest AtDeadline(Guid sessionId, ClockSource source) => new(sessionId, source, RequestPriority.GraceDeadline, DeadlineOnly: true);

    /// <summary>What webhooks said left, to be decided before any look.</summary>
    public bool HasDepartures => Departed is not null || Closed;

    /// <summary>
    /// Two requests for one room as one: the latest hints, the more valuable priority, every departure, and a look if
    /// either needs one. Departures are decided before the look, so a return merged after a departure still sees the
    /// grace that ran between them. A webhook's source wins over a recheck's.
    /// </summary>
    public RoomRequest Merge(RoomRequest later) => new(SessionId,
        Source == ClockSource.Webhook || later.Source == ClockSource.Webhook ? ClockSource.Webhook : later.Source,
        Priority < later.Priority ? Priority : later.Priority,
        Latest(DropHint, later.DropHint),
        later.ActiveHint ?? ActiveHint,
        Departed is null && later.Departed is null ? null : (Departed ?? NoOne).Union(later.Departed ?? NoOne),
        Closed || later.Closed,
        DeadlineOnly && later.DeadlineOnly,
        Look || later.Look);

    private static readonly ImmutableHashSet<string> NoOne = ImmutableHashSet.Create<string>(StringComparer.Ordinal);

    private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
}
