using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace RoomReconciler.Clock;

/// <summary>
/// The open clock streams, by session: the one listener's changes fan out here in memory, so any number of
/// subscribers costs no database connection. A subscriber holds only the newest entry and a doorbell, so a
/// slow one can never make the publisher wait nor grow memory.
/// </summary>
public sealed class ClockStreams : IDisposable
{
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<ClockSubscriber, byte>> _bySession = new();
    private readonly Lock _gate = new();
    private readonly ITimer _heartbeat;

    private readonly ClockMetrics _metrics;

    public ClockStreams(IOptions<ClockApiOptions> options, TimeProvider time, ClockMetrics metrics)
    {
        _metrics = metrics;
        var every = options.Value.StreamHeartbeat;
        // One timer for every stream rather than one per subscriber.
        _heartbeat = time.CreateTimer(_ => RingHeartbeats(), null, every, every);
    }

    public ClockSubscriber Subscribe(Guid sessionId)
    {
        var subscriber = new ClockSubscriber(sessionId);
        // Under the lock, so that an empty set being removed by Unsubscribe is never the one joined.
        lock (_gate) _bySession.GetOrAdd(sessionId, _ => new()).TryAdd(subscriber, 0);
        _metrics.StreamOpened();
        return subscriber;
    }

    public void Unsubscribe(ClockSubscriber subscriber)
    {
        lock (_gate)
        {
            if (!_bySession.TryGetValue(subscriber.SessionId, out var set) || !set.TryRemove(subscriber, out _)) return;
            if (set.IsEmpty) _bySession.TryRemove(subscriber.SessionId, out _);
        }
        _metrics.StreamClosed();
    }

    /// <summary>The sessions someone is watching, for a fresh snapshot after the listener reconnects.</summary>
    public IReadOnlyCollection<Guid> SessionIds => [.. _bySession.Keys];

    public void Publish(ClockEntry entry)
    {
        if (!_bySession.TryGetValue(entry.SessionId, out var set)) return;
        foreach (var subscriber in set.Keys) subscriber.Offer(entry);
    }

    private void RingHeartbeats()
    {
        foreach (var set in _bySession.Values)
            foreach (var subscriber in set.Keys) subscriber.RingHeartbeat();
    }

    public void Dispose() => _heartbeat.Dispose();
}

/// <summary>One stream's mailbox: the newest entry offered (by version) and a doorbell that holds at most one ring.</summary>
public sealed class ClockSubscriber(Guid sessionId)
{
    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private ClockEntry? _latest;
    private int _heartbeatDue;

    public Guid SessionId { get; } = sessionId;

    public ClockEntry? Latest => Volatile.Read(ref _latest);

    /// <summary>Keeps the entry if it is newer than the one held; older offers (a load overtaken by a change) are dropped.</summary>
    public void Offer(ClockEntry entry)
    {
        while (true)
        {
            var held = Volatile.Read(ref _latest);
            if (held is not null && held.Version >= entry.Version) return;
            if (Interlocked.CompareExchange(ref _latest, entry, held) == held) break;
        }
        _doorbell.Writer.TryWrite(true);
    }

    public void RingHeartbeat()
    {
        Volatile.Write(ref _heartbeatDue, 1);
        _doorbell.Writer.TryWrite(true);
    }

    /// <summary>True once, after each ring of the heartbeat timer.</summary>
    public bool TakeHeartbeat() => Interlocked.Exchange(ref _heartbeatDue, 0) == 1;

    /// <summary>Waits for a ring (a newer entry or a heartbeat).</summary>
    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        await _doorbell.Reader.ReadAsync(cancellationToken);
    }
}
