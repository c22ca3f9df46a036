using System.Diagnostics;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The database's clock: its now when read, moved on by this process's monotonic clock, in whole milliseconds like
/// every time the database stores. The monotonic clock counts from when the query was sent, not from when its row came
/// back: the database read its now in between, so this is never behind its clock (it may be ahead by the send time).
/// Behind could date a drop that a reconcile noticed before it happened (a freshly started daemon spends tens
/// of milliseconds compiling between the two); ahead is harmless, since the database caps every effective time at its now.
/// </summary>
/// <param name="ReadTimestamp">the <see cref="Stopwatch"/> timestamp taken just before the query that read <paramref name="ReadAt"/> was sent</param>
public sealed record DatabaseTime(DateTimeOffset ReadAt, long ReadTimestamp)
{
    public DateTimeOffset Now
    {
        get
        {
            var now = ReadAt + Stopwatch.GetElapsedTime(ReadTimestamp);
            return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
        }
    }
}
