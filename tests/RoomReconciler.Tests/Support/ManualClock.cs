namespace RoomReconciler.Tests.Support;

/// <summary>A clock the test moves by hand; timers still run on real time.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    /// <summary>Starts near the real time, so tokens minted with the real time stay valid, at a known millisecond.</summary>
    public ManualClock() : this(DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddMilliseconds(123)) { }

    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}
