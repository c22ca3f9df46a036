namespace LiveKitSimulator;

/// <summary>
/// LiveKit Cloud's per-project limit on the server API: past <see cref="SimulatorOptions.RateLimit"/> calls answered in
/// any sliding <see cref="SimulatorOptions.RateLimitWindow"/>, a call is answered 429 Twirp resource_exhausted. Every call
/// received is recorded with its arrival time, so that a test can say how many came in the busiest window.
/// </summary>
public sealed class RateLimit(SimulatorOptions options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Queue<DateTimeOffset> _answered = new();
    private readonly List<DateTimeOffset> _received = [];

    /// <summary>Calls answered 429 since the start or the last <see cref="Reset"/>.</summary>
    public int Throttled { get; private set; }

    /// <summary>Records the call; false when it is over the limit and must be answered 429.</summary>
    internal bool Admit()
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            _received.Add(now);
            if (options.RateLimit <= 0) return true;
            while (_answered.TryPeek(out var oldest) && oldest <= now - options.RateLimitWindow) _answered.Dequeue();
            if (_answered.Count >= options.RateLimit)
            {
                Throttled++;
                return false;
            }
            _answered.Enqueue(now);
            return true;
        }
    }

    /// <summary>The most calls received (throttled ones included) in any sliding window of this length.</summary>
    public int MostInAnyWindow(TimeSpan window)
    {
        lock (_gate)
        {
            var most = 0;
            for (int first = 0, last = 0; last < _received.Count; last++)
            {
                while (_received[last] - _received[first] >= window) first++;
                most = Math.Max(most, last - first + 1);
            }
            return most;
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _received.Clear();
            _answered.Clear();
            Throttled = 0;
        }
    }
}
