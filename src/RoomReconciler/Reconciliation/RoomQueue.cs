using System.Collections.Concurrent;
using System.Threading.Channels;

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
    // Margin past a grace's end so that the database's now has passed the deadline when the room is read.
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(20);
    private const int MaxRooms = 10_000;

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
