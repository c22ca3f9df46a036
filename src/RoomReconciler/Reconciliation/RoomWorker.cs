namespace RoomReconciler.Reconciliation;

/// <summary>
/// Drains the <see cref="RoomQueue"/> (controller-runtime's controller loop, with its MaxConcurrentReconciles): reconciles
/// each room with the same decision and SQL as the poll, reports what changed, and requeues it at the deadline of a grace
/// it found running. A few rooms at once, never one room twice at once, so that a webhook is not kept waiting behind
/// another room's LiveKit call. A failed reconcile is logged and not retried here: the next poll looks at every room anyway.
/// </summary>
public sealed class RoomWorker(RoomQueue queue, TransitionLog transitions, IServiceScopeFactory scopes, ILogger<RoomWorker> log) : BackgroundService
{
    /// <summary>Rooms reconciled at once: each is mostly waiting on LiveKit or PostgreSQL, and each holds one connection.</summary>
    public const int ConcurrentRooms = 4;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, ConcurrentRooms).Select(_ => DrainAsync(stoppingToken)));

    private async Task DrainAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var request in queue.ReadAllAsync(stoppingToken))
            {
                try { await ReconcileAsync(request, stoppingToken); }
                finally { queue.Done(request.SessionId); }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private async Task ReconcileAsync(RoomRequest request, CancellationToken stoppingToken)
    {
        using var activity = ReconcileTracing.Source.StartActivity("reconcile room")?.SetTag("roomreconciler.session_id", request.SessionId);
        // A scope per request: the RoomServiceClient inside is a disposable typed HttpClient, which the root
        // provider would otherwise keep until shutdown.
        await using var scope = scopes.CreateAsyncScope();
        try
        {
            var result = await scope.ServiceProvider.GetRequiredService<IRoomReconciler>().ReconcileAsync(request, stoppingToken);
            transitions.Report(result.Applied, request.Source);
            if (result.RecheckAt is { } at) queue.RecheckAt(request.SessionId, at, result.Clock, request.Source);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            log.LogWarning("Reconciling session {SessionId} ({Source}) failed, the next poll will: {Reason}",
                request.SessionId, EventNames.Of(request.Source), e.Message);
        }
    }
}

/// <summary>
/// Reconciles one room (controller-runtime's reconcile.Reconciler): what <see cref="RoomWorker"/> hands each request
/// to, <see cref="ClockReconciler"/> in the daemon. The worker's own rules (requeue, report, one room at a time) hold
/// whatever reconciles.
/// </summary>
public interface IRoomReconciler
{
    Task<RoomResult> ReconcileAsync(RoomRequest request, CancellationToken ct);
}

/// <summary>What reconciling one room did, and when to look at it again (controller-runtime's Result{RequeueAfter}).</summary>
/// <param name="RecheckAt">the deadline of a running grace, in database time: the room must be reconciled again then</param>
/// <param name="Clock">the database time the decision was made in, which turns <paramref name="RecheckAt"/> into a delay</param>
public sealed record RoomResult(IReadOnlyList<AppliedTransition> Applied, DateTimeOffset? RecheckAt, DatabaseTime Clock);
