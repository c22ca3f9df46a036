using System.Collections.Concurrent;
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
    private readonly ClockStreamLimits _limits;
    private readonly CancellationToken _stopping;

    public ClockStreams(IOptions<ClockApiOptions> options, TimeProvider time, ClockMetrics metrics, ClockStreamLimits limits,
        IHostApplicationLifetime lifetime)
    {
        _metrics = metrics;
        _limits = limits;
        // One registration for every stream rather than a linked token source per stream: a few hundred bytes a stream
        // held for its whole life (README.md, "Where the time and memory went").
        _stopping = lifetime.ApplicationStopping;
        _stopping.Register(EndAll);
        // One timer for every stream rather than one per subscriber, ringing a slice of them at a time: ringing all at
        // once put 10,000 writes in one burst on the thread pool every interval, and the changes that fell in it waited
        // (README.md, "Where the time and memory went"). Each stream still hears its heartbeat once an interval.
        var every = options.Value.StreamHeartbeat / HeartbeatSlices;
        _heartbeat = time.CreateTimer(_ => RingHeartbeats(), null, every, every);
    }

    /// <summary>The heartbeat interval is cut into this many turns, each ringing the streams of one slice.</summary>
    public const int HeartbeatSlices = 16;

    private int _nextSlice;
    private int _turn;

    /// <summary>A new subscriber, or null when a stream limit refuses it (<paramref name="refused"/> says which).</summary>
    /// <param name="token">the join token it was admitted with, counted by <see cref="ClockStreamLimits"/></param>
    public ClockSubscriber? TrySubscribe(Guid sessionId, string? token, out ClockStreamLimit refused)
    {
        var key = ClockStreamLimits.KeyOf(token);
        if (!_limits.TryAcquire(key, out refused)) return null;
        var subscriber = new ClockSubscriber(sessionId, key, (int)((uint)Interlocked.Increment(ref _nextSlice) % HeartbeatSlices));
        // Under the lock, so that an empty set being removed by Unsubscribe is never the one joined.
        lock (_gate) _bySession.GetOrAdd(sessionId, _ => new()).TryAdd(subscriber, 0);
        _metrics.StreamOpened();
        if (_stopping.IsCancellationRequested) subscriber.End(); // joined after EndAll walked the sets
        return subscriber;
    }

    public void Unsubscribe(ClockSubscriber subscriber)
    {
        lock (_gate)
        {
            if (!_bySession.TryGetValue(subscriber.SessionId, out var set) || !set.TryRemove(subscriber, out _)) return;
            if (set.IsEmpty) _bySession.TryRemove(subscriber.SessionId, out _);
        }
        _limits.Release(subscriber.TokenKey);
        _metrics.StreamClosed();
    }

    /// <summary>The sessions someone is watching, for a fresh snapshot after the listener reconnects.</summary>
    public IReadOnlyCollection<Guid> SessionIds => [.. _bySession.Keys];

    public void Publish(ClockEntry entry)
    {
        if (!_bySession.TryGetValue(entry.SessionId, out var set)) return;
        foreach (var subscriber in set.Keys) subscriber.Offer(entry);
    }

    /// <summary>The cache stopped vouching: every open stream says so and ends, and its client goes where the truth is.</summary>
    public void Unavailable()
    {
        foreach (var set in _bySession.Values)
            foreach (var subscriber in set.Keys) subscriber.MarkUnavailable();
    }

    private void EndAll()
    {
        foreach (var set in _bySession.Values)
            foreach (var subscriber in set.Keys) subscriber.End();
    }

    private void RingHeartbeats()
    {
        var slice = (int)((uint)Interlocked.Increment(ref _turn) % HeartbeatSlices);
        foreach (var set in _bySession.Values)
            foreach (var subscriber in set.Keys)
                if (subscriber.HeartbeatSlice == slice) subscriber.RingHeartbeat();
    }

    public void Dispose() => _heartbeat.Dispose();
}
