using System.Collections.Concurrent;
using System.Threading.Channels;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The one work queue of rooms to reconcile out of turn (controller-runtime's workqueue): webhooks add to it at once,
/// and the deadline of a running grace adds to it again, so that a pause lands at its moment rather than at the next
/// poll. Bounded, so a webhook storm cannot grow memory without limit; a request dropped when full is caught by the
/// next poll. <see cref="RoomWorker"/> drains it.
/// </summary>
public sealed class RoomQueue
{
    // Margin past a grace's end so that the database's now has passed the deadline when the room is read.
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(20);

    private readonly Channel<RoomRequest> _requests =
        Channel.CreateBounded<RoomRequest>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _rechecks = new();

    public ChannelReader<RoomRequest> Reader => _requests.Reader;

    public void Enqueue(RoomRequest request) => _requests.Writer.TryWrite(request);

    /// <summary>
    /// Reconcile the session again at <paramref name="at"/>, a database time, by <paramref name="source"/>; once per
    /// deadline, however many reconciles (every poll tick, every webhook) see the same grace running.
    /// </summary>
    public void RecheckAt(Guid sessionId, DateTimeOffset at, DatabaseTime clock, ClockSource source)
    {
        if (_rechecks.TryGetValue(sessionId, out var existing) && existing == at) return;
        _rechecks[sessionId] = at;
        var delay = at - clock.Now + DeadlineMargin;
        _ = Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.Zero).ContinueWith(_ =>
        {
            if (_rechecks.TryRemove(new KeyValuePair<Guid, DateTimeOffset>(sessionId, at)))
                Enqueue(new RoomRequest(sessionId, source));
        }, TaskScheduler.Default);
    }
}
