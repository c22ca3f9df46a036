namespace LiveKitSimulator;

public enum FaultKind
{
    /// <summary>HTTP 500, Twirp <c>internal</c>.</summary>
    Internal,
    /// <summary>HTTP 503, Twirp <c>unavailable</c>.</summary>
    Unavailable,
    /// <summary>No answer until the client gives up; with a delay, the normal answer comes after it.</summary>
    Hang,
    /// <summary>HTTP 200 with a body that is not JSON.</summary>
    Garbage,
    /// <summary>HTTP 401 with the plain-text body of the auth middleware.</summary>
    Unauthorized,
}

/// <summary>One injected fault: which kind, for how many more calls (null: until cleared), and the hang's delay.</summary>
public sealed record Fault(FaultKind Kind, int? Remaining, TimeSpan? Delay);

/// <summary>Faults injected into RoomService calls, per method or for all methods.</summary>
public sealed class FaultInjector
{
    /// <summary>The key of a fault that applies to every method.</summary>
    public const string AllMethods = "*";

    private readonly Lock gate = new();
    private readonly Dictionary<string, Fault> faults = new(StringComparer.Ordinal);

    /// <summary>Injects a fault into <paramref name="method"/> (e.g. "ListRooms"; null for all) for <paramref name="count"/> calls (null: until cleared).</summary>
    public void Inject(FaultKind kind, string? method = null, int? count = null, TimeSpan? delay = null)
    {
        if (count is <= 0) throw new BadInputException("'count' must be positive");
        if (delay < TimeSpan.Zero) throw new BadInputException("'delay' must not be negative");
        lock (gate) faults[method ?? AllMethods] = new Fault(kind, count, delay);
    }

    public void Clear()
    {
        lock (gate) faults.Clear();
    }

    public void Clear(string method)
    {
        lock (gate) faults.Remove(method);
    }

    public IReadOnlyDictionary<string, Fault> Active
    {
        get { lock (gate) return new Dictionary<string, Fault>(faults); }
    }

    /// <summary>Takes the fault for this call, if any: the method's own fault wins over one for all methods.</summary>
    internal Fault? Take(string method)
    {
        lock (gate)
        {
            var key = faults.ContainsKey(method) ? method : AllMethods;
            if (!faults.TryGetValue(key, out var fault)) return null;
            if (fault.Remaining is { } n)
            {
                if (n <= 1) faults.Remove(key);
                else faults[key] = fault with { Remaining = n - 1 };
            }
            return fault;
        }
    }
}

/// <summary>RoomService calls received, per method name, whatever their outcome.</summary>
public sealed class CallCounter
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, int> counts = new(StringComparer.Ordinal);

    public int this[string method]
    {
        get { lock (gate) return counts.GetValueOrDefault(method); }
    }

    public int Total
    {
        get { lock (gate) return counts.Values.Sum(); }
    }

    public IReadOnlyDictionary<string, int> Snapshot()
    {
        lock (gate) return new Dictionary<string, int>(counts);
    }

    public void Reset()
    {
        lock (gate) counts.Clear();
    }

    internal void Count(string method)
    {
        lock (gate) counts[method] = counts.GetValueOrDefault(method) + 1;
    }
}
