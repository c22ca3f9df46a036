using System.Diagnostics;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The database's clock: its now when read, moved on by this process's monotonic clock since, in whole
/// milliseconds like every time the database stores.
/// </summary>
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
