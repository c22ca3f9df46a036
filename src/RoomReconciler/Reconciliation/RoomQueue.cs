using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.Channels;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The one work queue of rooms to reconcile out of turn (controller-runtime's workqueue), drained by
/// <see cref="RoomWorker"/>: webhooks add to it at once, and the deadline of a running grace adds to it again, so that a
/// pause lands at its moment rather than at the next poll. A room is in it at most once: requests for a room not yet
/// taken are merged (<see cref="RoomRequest.Merge"/>), so a burst of webhooks for one room costs one reconcile, and a
/// room is never reconciled by two workers at once. Bounded,
/// so a webhook storm cannot grow memory without limit; a request refused when full is caught by the next poll.
/// Deadlines run on the host's <see cref="TimeProvider"/>, and stop with the host.
/// </summary>
public sealed class RoomQueue(TimeProvider time) : IDisposable
{
    /// <summary>Rooms waiting at most; a request for another room is dropped until there is room (the next poll sees it).</summary>
    public const int MaxRooms = 10_000;

    // Margin past a grace's end so that the database's now has passed the deadline when the room is read.
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(20);

    private readonly Channel<Guid> _ready = Channel.CreateUnbounded<Guid>();
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, RoomRequest> _pending = [];
    // Rooms being reconciled now: a request for one of them waits until it is done, so one room is never reconciled
    // twice at once (the second would find the first's write and be skipped as stale).
    private readonly HashSet<Guid> _processing = [];
    private readonly ConcurrentDictionary<Guid, (DateTimeOffset At, ITimer Timer)> _rechecks = new();

    public void Enqueue(RoomRequest request)
    {
        lock (_gate)
        {
            if (_pending.TryGetValue(request.SessionId, out var queued)) { _pending[request.SessionId] = queued.Merge(request); return; }
            if (_pending.Count >= MaxRooms) return;
            _pending[request.SessionId] = request;
            if (!_processing.Contains(request.SessionId)) _ready.Writer.TryWrite(request.SessionId);
        }
    }

    /// <summary>
    /// Rooms to reconcile, one request per room however many were merged into it; any number of workers may read.
    /// Each room taken must be given back with <see cref="Done"/>.
    /// </summary>
    public async IAsyncEnumerable<RoomRequest> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var id in _ready.Reader.ReadAllAsync(ct))
        {
            RoomRequest? request;
            lock (_gate)
            {
                if (_processing.Contains(id) || !_pending.Remove(id, out request)) continue;
                _processing.Add(id);
            }
            yield return request;
        }
    }

    /// <summary>The room's reconcile ended: what arrived for it meanwhile is ready now.</summary>
    public void Done(Guid sessionId)
    {
        lock (_gate)
        {
            _processing.Remove(sessionId);
            if (_pending.ContainsKey(sessionId)) _ready.Writer.TryWrite(sessionId);
        }
    }

    /// <summary>
    /// Reconcile the session again at <paramref name="at"/>, a database time, by <paramref name="source"/>; once per
    /// deadline, however many reconciles (every poll tick, every webhook) see the same grace running.
    /// </summary>
    public void RecheckAt(Guid sessionId, DateTimeOffset at, DatabaseTime clock, ClockSource source)
    {
        if (_rechecks.TryGetValue(sessionId, out var existing) && existing.At == at) return;
        var delay = at - clock.Now + DeadlineMargin;
        var timer = time.CreateTimer(_ =>
        {
            if (_rechecks.TryGetValue(sessionId, out var due) && due.At == at && _rechecks.TryRemove(KeyValuePair.Create(sessionId, due)))
            {
                due.Timer.Dispose();
                Enqueue(RoomRequest.AtDeadline(sessionId, source));
            }
        }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        if (_rechecks.TryGetValue(sessionId, out var replaced)) replaced.Timer.Dispose();
        _rechecks[sessionId] = (at, timer);
        timer.Change(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        _ready.Writer.TryComplete();
        foreach (var (_, (_, timer)) in _rechecks) timer.Dispose();
        _rechecks.Clear();
    }
}

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
