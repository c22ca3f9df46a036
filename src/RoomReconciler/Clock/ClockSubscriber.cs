using System.Threading.Tasks.Sources;

namespace RoomReconciler.Clock;

/// <summary>
/// One stream's mailbox: the newest entry offered (by version) and a doorbell that holds at most one ring. The doorbell
/// is its own awaitable, reused for every wait, so that a delivery allocates nothing here (a bounded channel allocated
/// a waiter and a cancellation registration per wait, and a few hundred bytes per stream; README.md, "Where the time
/// and memory went").
/// </summary>
/// <param name="tokenKey">what <see cref="ClockStreamLimits"/> counts the stream under</param>
/// <param name="heartbeatSlice">which of <see cref="ClockStreams.HeartbeatSlices"/> rings this stream's heartbeat</param>
public sealed class ClockSubscriber(Guid sessionId, string? tokenKey = null, int heartbeatSlice = 0) : IValueTaskSource
{
    private const int Idle = 0, Rung = 1, Waiting = 2;

    // Continuations on the thread pool: a ring comes from the listener's thread or a timer, which must not write to sockets.
    private ManualResetValueTaskSourceCore<bool> _wait = new() { RunContinuationsAsynchronously = true };
    private int _doorbell;
    private ClockEntry? _latest;
    private int _heartbeatDue;
    private volatile bool _unavailable;
    private volatile bool _ended;

    public Guid SessionId { get; } = sessionId;

    public string? TokenKey { get; } = tokenKey;

    public int HeartbeatSlice { get; } = heartbeatSlice;

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
        Wake();
    }

    /// <summary>True once the replica stopped vouching for its clocks: the stream says so and ends.</summary>
    public bool IsUnavailable => _unavailable;

    public void MarkUnavailable()
    {
        _unavailable = true;
        Wake();
    }

    /// <summary>True once the host is stopping: the stream ends without a word, and its client reconnects elsewhere.</summary>
    public bool IsEnded => _ended;

    public void End()
    {
        _ended = true;
        Wake();
    }

    public void RingHeartbeat()
    {
        Volatile.Write(ref _heartbeatDue, 1);
        Wake();
    }

    /// <summary>True once, after each ring of the heartbeat timer.</summary>
    public bool TakeHeartbeat() => Interlocked.Exchange(ref _heartbeatDue, 0) == 1;

    /// <summary>Rings the doorbell: the waiting stream looks at what changed (an entry, a heartbeat, its cancellation).</summary>
    public void Wake()
    {
        while (true)
        {
            switch (Volatile.Read(ref _doorbell))
            {
                case Rung:
                    return;
                case Idle when Interlocked.CompareExchange(ref _doorbell, Rung, Idle) == Idle:
                    return;
                case Waiting when Interlocked.CompareExchange(ref _doorbell, Idle, Waiting) == Waiting:
                    _wait.SetResult(true);
                    return;
            }
        }
    }

    /// <summary>
    /// Waits for a ring (a newer entry, a heartbeat or <see cref="Wake"/>); completes at once if one came since the last
    /// wait. One waiter at a time: the stream's own loop.
    /// </summary>
    public ValueTask WaitAsync()
    {
        if (Interlocked.CompareExchange(ref _doorbell, Idle, Rung) == Rung) return ValueTask.CompletedTask;
        _wait.Reset();
        // A ring between the look above and here leaves Rung: take it rather than wait.
        if (Interlocked.CompareExchange(ref _doorbell, Waiting, Idle) != Idle)
        {
            Volatile.Write(ref _doorbell, Idle);
            return ValueTask.CompletedTask;
        }
        return new ValueTask(this, _wait.Version);
    }

    void IValueTaskSource.GetResult(short token) => _wait.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);
}
