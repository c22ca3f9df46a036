using System.Threading.Channels;

namespace RoomReconciler.Clock;

/// <summary>One stream's mailbox: the newest entry offered (by version) and a doorbell that holds at most one ring.</summary>
/// <param name="tokenKey">what <see cref="ClockStreamLimits"/> counts the stream under</param>
public sealed class ClockSubscriber(Guid sessionId, string? tokenKey = null)
{
    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private ClockEntry? _latest;
    private int _heartbeatDue;
    private volatile bool _unavailable;

    public Guid SessionId { get; } = sessionId;

    public string? TokenKey { get; } = tokenKey;

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

    /// <summary>True once the replica stopped vouching for its clocks: the stream says so and ends.</summary>
    public bool IsUnavailable => _unavailable;

    public void MarkUnavailable()
    {
        _unavailable = true;
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
