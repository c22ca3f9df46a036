namespace RoomReconciler.Clock;

/// <summary>
/// What the cache knows about one id: its clock, or that no such session exists (State null). Version orders
/// what the listener has seen: a notification takes the next number, a load from the database the number
/// current when its query started, so the higher version is never the older view for long (see README.md).
/// </summary>
public sealed record ClockEntry(Guid SessionId, ClockState? State, long Version)
{
    /// <summary>
    /// The stream event last rendered from this entry, with the millisecond it shows as server_now: the
    /// subscribers of a session all send the same entry within a few milliseconds, so most reuse the bytes.
    /// </summary>
    internal RenderedEvent? LastEvent { get; set; }
}

internal sealed record RenderedEvent(long ServerNow, byte[] Bytes);
