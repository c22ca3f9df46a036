using Microsoft.Extensions.Options;
using Npgsql;

namespace RoomReconciler.LiveKit;

/// <summary>
/// LiveKit:RequestsPerMinute, shared by every replica through PostgreSQL (roomreconciler.livekit_budget_take, a sliding
/// window over the grants of the last LiveKit:RequestWindow), so that all replicas together never make more RoomService
/// calls in a window than the budget. Each priority may spend only up to its share of the window, so what is left for the
/// verification sweep is what the grace deadlines, webhooks and changed listings did not need. A 429 holds every
/// replica off for its Retry-After and halves this replica's budget, which recovers over one window.
/// </summary>
/// <remarks>
/// Hand-written rather than System.Threading.RateLimiting's SlidingWindowRateLimiter: that one counts in one process,
/// and the budget is the whole project's. The state is one small table, not a home-made consensus.
/// </remarks>
public sealed class RequestBudget(IOptions<LiveKitOptions> options, LiveKitMetrics metrics, TimeProvider time, ILogger<RequestBudget> log,
    NpgsqlDataSource? dataSource = null)
{
    /// <summary>A second of a minute: how long a 429 without Retry-After holds calls off, and the margin of the counted window.</summary>
    private const double SecondOfAMinute = 1.0 / 60;

    private readonly Lock _gate = new();
    private DateTimeOffset? _throttledAt;

    private int Limit => options.Value.RequestsPerMinute;
    private TimeSpan Window => options.Value.RequestWindow;

    /// <summary>
    /// The window the grants are counted over: a second of a minute longer than LiveKit's, so that calls granted at the
    /// two ends of a window, which reach LiveKit a few milliseconds after their grant, still fall into two of its windows.
    /// </summary>
    private TimeSpan CountedWindow => Window + Window * SecondOfAMinute;

    /// <summary>No budget: RequestsPerMinute is 0 (a self-hosted LiveKit), or this host has no database (a bare client).</summary>
    public bool Unlimited => Limit == 0 || dataSource is null;

    /// <summary>The most a priority may bring the window's spending to: the budget, less what more valuable calls may need.</summary>
    public int Ceiling(RequestPriority priority)
    {
        var share = priority switch
        {
            RequestPriority.GraceDeadline => 1.0,
            RequestPriority.Webhook => 0.95,
            RequestPriority.Listing => 0.9,
            _ => 0.75,
        };
        return (int)Math.Floor(Limit * Slowdown() * share);
    }

    /// <summary>The share of the budget this replica uses: 1, or from ½ back to 1 over the window after a 429.</summary>
    private double Slowdown()
    {
        lock (_gate)
        {
            if (_throttledAt is not { } at) return 1;
            var since = time.GetUtcNow() - at;
            if (since >= Window) { _throttledAt = null; return 1; }
            return 0.5 + 0.5 * (since / Window);
        }
    }

    /// <summary>One call's share, waiting (on the host's clock) until the window has room for it at this priority.</summary>
    public async ValueTask WaitAsync(RequestPriority priority, CancellationToken ct)
    {
        if (priority == RequestPriority.Prepaid || Unlimited) return;
        var waited = false;
        while (true)
        {
            int granted;
            TimeSpan wait;
            try { (granted, wait) = await TakeAsync(1, Ceiling(priority), ct); }
            catch (Exception e) when (Database.DatabaseFailure.IsUnavailable(e))
            {
                // One call, unbudgeted, rather than none: without PostgreSQL the reconciler loads nothing and so calls
                // nothing, and what still calls (`check`, a reconcile whose session was loaded) is one call at a time.
                log.LogWarning("LiveKit request budget unavailable, one {Priority} call made without it: {Reason}", priority, e.Message);
                return;
            }
            if (granted == 1) return;
            if (!waited) metrics.BudgetWait(priority);
            waited = true;
            // The oldest grant expires then; never spin faster than one budget slot.
            var floor = Window / Math.Max(Limit, 1);
            await Task.Delay(wait > floor ? wait : floor, time, ct);
        }
    }

    /// <summary>
    /// Up to <paramref name="wanted"/> calls at once, as many as the window has room for at this priority; never waits.
    /// A batch that repeats (the verification sweep, once a poll) passes its interval as <paramref name="every"/>: it
    /// then takes at most its priority's share of the window pro rata, and so spends evenly across the window. Unpaced,
    /// the sweep filled its share in the first ticks after a start, and the calls that matter more then found the
    /// window full until those grants expired: a changed listing waited a poll.
    /// </summary>
    public async ValueTask<int> TakeUpToAsync(RequestPriority priority, int wanted, CancellationToken ct, TimeSpan? every = null)
    {
        if (wanted <= 0) return 0;
        if (Unlimited) return wanted;
        var asked = every is { } interval ? Math.Min(wanted, Paced(priority, interval)) : wanted;
        int granted;
        try { (granted, _) = await TakeAsync(asked, Ceiling(priority), ct); }
        catch (Exception e) when (Database.DatabaseFailure.IsUnavailable(e))
        {
            // A batch is never made unbudgeted: its looks wait for a later tick.
            log.LogWarning("LiveKit request budget unavailable, {Wanted} {Priority} looks wait for a later tick: {Reason}", wanted, priority, e.Message);
            granted = 0;
        }
        if (granted < wanted) metrics.BudgetDeferred(priority, wanted - granted);
        return granted;
    }

    /// <summary>One retried attempt of a call at this priority, if the window has room for it now; never waits.</summary>
    public async ValueTask<bool> TakeRetryAsync(RequestPriority priority, CancellationToken ct) =>
        Unlimited || await TakeUpToAsync(priority, 1, ct) == 1;

    /// <summary>A batch's share of the window when it is taken once every <paramref name="every"/>: the priority's ceiling, pro rata.</summary>
    public int Paced(RequestPriority priority, TimeSpan every) =>
        Unlimited ? int.MaxValue : (int)Math.Ceiling(Ceiling(priority) * Math.Min(1, every / Window));

    /// <summary>LiveKit answered 429: every replica holds off for Retry-After (or a second), and this one slows down.</summary>
    public async ValueTask ThrottledAsync(TimeSpan? retryAfter, CancellationToken ct)
    {
        lock (_gate) _throttledAt = time.GetUtcNow();
        if (Unlimited) return;
        var hold = retryAfter is { } r && r > TimeSpan.Zero ? r : Window * SecondOfAMinute;
        if (hold > Window) hold = Window;
        try
        {
            await using var command = dataSource!.CreateCommand("SELECT roomreconciler.livekit_budget_hold($1, $2, $3)");
            command.Parameters.AddWithValue(hold);
            command.Parameters.AddWithValue(Limit);
            command.Parameters.AddWithValue(CountedWindow);
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (Exception e) when (Database.DatabaseFailure.IsUnavailable(e))
        {
            log.LogWarning("LiveKit throttled us; the hold of {Hold:0.###} s could not be shared with the other replicas: {Reason}", hold.TotalSeconds, e.Message);
        }
    }

    private async ValueTask<(int Granted, TimeSpan Wait)> TakeAsync(int wanted, int ceiling, CancellationToken ct)
    {
        await using var command = dataSource!.CreateCommand("SELECT granted, spent, wait_ms FROM roomreconciler.livekit_budget_take($1, $2, $3)");
        command.Parameters.AddWithValue(wanted);
        command.Parameters.AddWithValue(ceiling);
        command.Parameters.AddWithValue(CountedWindow);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (granted, spent, waitMs) = (reader.GetInt32(0), reader.GetInt32(1), reader.GetDouble(2));
        metrics.BudgetSpent(spent, Limit);
        return (granted, TimeSpan.FromMilliseconds(waitMs));
    }
}
