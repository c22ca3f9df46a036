using System.Diagnostics;
using Quartz;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The poll tick, every Reconciler:PollInterval: reconciles every room, reports what changed, and leaves the rechecks
/// of running graces to the <see cref="RoomQueue"/>. Quartz's clustered job store runs it on one replica at a time,
/// and DisallowConcurrentExecution keeps a slow tick from overlapping the next.
/// </summary>
[DisallowConcurrentExecution]
public sealed class PollJob(ClockReconciler reconciler, RoomQueue queue, TransitionLog transitions, ReconcilerMetrics metrics, ILogger<PollJob> log) : IJob
{
    /// <summary>The job's name in Quartz's tables, which outlive a release: kept as it was stored.</summary>
    public static readonly JobKey Key = new("reconcile", "roomreconciler");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        using var activity = ReconcileTracing.Source.StartActivity("reconcile tick");
        var started = Stopwatch.GetTimestamp();
        metrics.Tick();
        try
        {
            var tick = await reconciler.ReconcileAllAsync(cancellationToken);
            transitions.Report(tick.Applied, ClockSource.Poll);
            foreach (var (sessionId, at) in tick.Rechecks) queue.RecheckAt(sessionId, at, tick.Clock, ClockSource.Poll);
            if (tick.LiveKitFailed) metrics.TickFailed();
            else metrics.LiveKitRead();
            if (tick.VerificationPeriod is { } period) metrics.VerificationPeriod(period);
            log.LogDebug("Tick: {Sessions} sessions, {Lookups} ListParticipants ({Verified} unchanged rooms verified), {Transitions} transitions, LiveKit {LiveKit} in {Ms:F1} ms",
                tick.Sessions, tick.ParticipantLookups, tick.Verified, tick.Transitions, tick.LiveKitFailed ? "unreadable" : "ok",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            log.LogInformation("Tick cancelled by shutdown");
        }
        catch (Exception e) when (Database.DatabaseFailure.IsUnavailable(e))
        {
            // The database is away; the next tick tries again. Nothing was half-applied: apply is one statement.
            log.LogWarning("Tick failed, database unavailable: {Reason}", e.Message);
            metrics.TickFailed();
        }
        finally
        {
            metrics.TickTook(Stopwatch.GetElapsedTime(started));
        }
    }
}

/// <summary>What one poll tick did, for the Debug summary, the metrics and the rechecks it leaves to the <see cref="RoomQueue"/>.</summary>
/// <param name="Verified">rooms looked at although their listing did not change (at most ⌈listed / 6⌉, fewer on a short request budget)</param>
/// <param name="Rechecks">sessions whose grace is running, each with its deadline in database time</param>
/// <param name="Clock">the database time the decisions were made in</param>
/// <param name="VerificationPeriod">how long ago the listed room looked at longest ago was seen: every room has been looked at within it</param>
public sealed record PollResult(int Sessions, int ParticipantLookups, int Verified, bool LiveKitFailed, IReadOnlyList<AppliedTransition> Applied,
    IReadOnlyList<(Guid SessionId, DateTimeOffset At)> Rechecks, DatabaseTime Clock, TimeSpan? VerificationPeriod = null)
{
    public int Transitions => Applied.Count(a => a.Outcome == ApplyOutcome.Changed);
}
