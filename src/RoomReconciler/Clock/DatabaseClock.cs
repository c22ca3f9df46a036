namespace RoomReconciler.Clock;

/// <summary>
/// The database's clock, read without a round trip: like NTP, samples of clock_timestamp() taken against the
/// host's monotonic clock, and the one with the smallest error bound (half its round trip, plus the drift the
/// two clocks may have had since) gives the offset. See README.md for the bound.
/// </summary>
public sealed class DatabaseClock(TimeProvider time)
{
    /// <summary>How far the two clocks may drift apart: 500 ppm is the most an NTP-disciplined kernel slews.</summary>
    public const double MaxDrift = 500e-6;

    /// <summary>A sample older than this is not trusted at all (the sampler has stopped).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    private const int Window = 8;
    private readonly Sample[] _samples = new Sample[Window];
    private int _count;
    private int _next;
    private volatile Sample? _best;

    private sealed record Sample(long MidTimestamp, long DbTicks, double HalfRttSeconds);

    public long GetTimestamp() => time.GetTimestamp();

    public TimeSpan ElapsedSince(long timestamp) => time.GetElapsedTime(timestamp);

    /// <param name="before">monotonic timestamp taken just before the query was sent</param>
    /// <param name="databaseNow">the database's clock_timestamp() (UTC)</param>
    /// <param name="after">monotonic timestamp taken when the answer arrived</param>
    public void AddSample(long before, DateTime databaseNow, long after)
    {
        var halfRtt = time.GetElapsedTime(before, after).TotalSeconds / 2;
        var sample = new Sample(before + (after - before) / 2, databaseNow.ToUniversalTime().Ticks, halfRtt);
        lock (_samples)
        {
            _samples[_next] = sample;
            _next = (_next + 1) % Window;
            _count = Math.Min(_count + 1, Window);
            var now = time.GetTimestamp();
            _best = _samples.Take(_count).MinBy(s => ErrorBound(s, now).TotalSeconds);
        }
    }

    /// <summary>Forgets every sample: after a reconnect the server may be another machine with another clock.</summary>
    public void Clear()
    {
        lock (_samples) { _count = 0; _next = 0; _best = null; }
    }

    /// <summary>The database's clock now, in Unix milliseconds truncated as the database truncates; false without a usable sample.</summary>
    public bool TryGetNow(out long unixMs)
    {
        unixMs = 0;
        var best = _best;
        if (best is null) return false;
        var now = time.GetTimestamp();
        var age = time.GetElapsedTime(best.MidTimestamp, now);
        if (age > MaxAge) return false;
        unixMs = (best.DbTicks + age.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;
        return true;
    }

    /// <summary>How far the estimate may be from the database's clock now (before truncation to milliseconds); null without a sample.</summary>
    public TimeSpan? Uncertainty => _best is { } best ? ErrorBound(best, time.GetTimestamp()) : null;

    private TimeSpan ErrorBound(Sample s, long now) =>
        TimeSpan.FromSeconds(s.HalfRttSeconds + time.GetElapsedTime(s.MidTimestamp, now).TotalSeconds * MaxDrift);
}
