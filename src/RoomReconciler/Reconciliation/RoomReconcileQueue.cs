using System.Collections.Concurrent;
using System.Threading.Channels;

namespace RoomReconciler.Reconciliation;

/// <summary>A request to reconcile one session's room now, outside the poll.</summary>
public sealed record RoomReconcileRequest(Guid SessionId, DateTimeOffset? DropHint, string Source, ActiveHint? ActiveHint = null);

/// <summary>
/// Rooms to reconcile out of turn: on a webhook, and again when a grace ends, so that a pause lands at
/// its moment rather than at the next poll. Bounded, so a webhook storm cannot grow memory without limit;
/// a request dropped when full is caught by the next poll.
/// </summary>
public sealed class RoomReconcileQueue
{
    // Margin past a grace's end so that the database's now has passed the deadline when the room is read.
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(20);

    private readonly Channel<RoomReconcileRequest> _requests =
        Channel.CreateBounded<RoomReconcileRequest>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _scheduled = new();

    public ChannelReader<RoomReconcileRequest> Reader => _requests.Reader;

    public void Enqueue(RoomReconcileRequest request) => _requests.Writer.TryWrite(request);

    /// <summary>Reconcile the session again at <paramref name="at"/>, a database time; once per deadline.</summary>
    public void ScheduleAt(Guid sessionId, DateTimeOffset at, DatabaseTime clock, string source)
    {
        if (_scheduled.TryGetValue(sessionId, out var existing) && existing == at) return;
        _scheduled[sessionId] = at;
        var delay = at - clock.Now + DeadlineMargin;
        _ = Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.Zero).ContinueWith(_ =>
        {
            if (_scheduled.TryRemove(new KeyValuePair<Guid, DateTimeOffset>(sessionId, at)))
                Enqueue(new RoomReconcileRequest(sessionId, null, source));
        }, TaskScheduler.Default);
    }
}

/// <summary>Drains the queue, one room at a time, with the same decision and SQL as the poll.</summary>
public sealed class RoomReconcileWorker(RoomReconcileQueue queue, IServiceScopeFactory scopes, ILogger<RoomReconcileWorker> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var request in queue.Reader.ReadAllAsync(stoppingToken))
            {
                // A scope per request: the RoomServiceClient inside is a disposable typed HttpClient, which the root
                // provider would otherwise keep until shutdown.
                await using var scope = scopes.CreateAsyncScope();
                try { await scope.ServiceProvider.GetRequiredService<Reconciler>().ReconcileSessionAsync(request.SessionId, request.DropHint, request.ActiveHint, request.Source, stoppingToken); }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    log.LogWarning("Reconciling session {SessionId} ({Source}) failed, the next poll will: {Reason}",
                        request.SessionId, request.Source, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}
