using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using RoomReconciler.Clock;
using RoomReconciler.Hosting;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// Logs and counts what a reconcile applied, for the room worker and the poll alike: one line per clock change that
/// greps by session id (docs/operations.md, "Logs"), and the transition metrics.
/// </summary>
public sealed class TransitionLog(IOptionsMonitor<ReconcilerOptions> options, ReconcilerMetrics metrics, ILogger<TransitionLog> log)
{
    public void Report(IReadOnlyList<AppliedTransition> applied, ClockSource source)
    {
        foreach (var t in applied)
        {
            if (t.Outcome == ApplyOutcome.Changed && t.Transition is { } transition)
            {
                var name = EventNames.Of(transition);
                metrics.Transition(transition, source);
                // A clock that hit the cap is worth an operator's look: a dead LiveKit node, or a session nobody left.
                var capped = t.Reason == ClockDecider.ReasonMaxDuration;
                if (capped) metrics.MaxDurationEnd();
                log.Log(capped ? LogLevel.Warning : LogLevel.Information,
                    "Clock {Transition} session={SessionId} room={Room} {From} -> {To} effective={EffectiveAt} lag_ms={LagMs} reason={Reason} source={Source}",
                    name, t.SessionId, options.CurrentValue.Rooms().For(t.SessionId), From(transition), To(transition),
                    ClockTime.Iso(t.EffectiveAt?.ToUnixTimeMilliseconds()),
                    (long)((t.CreatedAt - t.EffectiveAt) ?? TimeSpan.Zero).TotalMilliseconds, t.Reason, EventNames.Of(source));
            }
            else if (t.Outcome is ApplyOutcome.Stale or ApplyOutcome.Rejected)
                log.LogDebug("Decision for session {SessionId} not applied: {Outcome} {Error}", t.SessionId, t.Outcome, t.Error);
        }
    }

    private static string From(ClockTransition transition) => transition switch
    {
        ClockTransition.Started => "not_started",
        ClockTransition.Paused or ClockTransition.Ended => "running",
        _ => "paused",
    };

    private static string To(ClockTransition transition) => transition switch
    {
        ClockTransition.Paused => "paused",
        ClockTransition.Ended => "ended",
        _ => "running",
    };
}

/// <summary>
/// The reconciler's instruments, on a meter of this host's <see cref="IMeterFactory"/> (which hands out one meter per
/// name): two hosts in one process, as in the tests, count apart. Named as the Prometheus families they become
/// (<see cref="MetricsExport"/>).
/// </summary>
public sealed class ReconcilerMetrics(IMeterFactory meters)
{
    public const string MeterName = "RoomReconciler.Reconciliation";

    /// <summary>1 ms, 2 ms, 4 ms, ... 8 s.</summary>
    private static readonly double[] TickBuckets = [.. Enumerable.Range(0, 14).Select(i => 0.001 * Math.Pow(2, i))];

    private readonly Counter<long> _ticks = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_reconcile_ticks_total", description: "Reconcile ticks run.");

    /// <summary>A poll tick began (one tick reconciles every room once).</summary>
    public void Tick() => _ticks.Add(1);

    private readonly Counter<long> _tickFailures = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_reconcile_tick_failures_total", description: "Reconcile ticks that failed.");

    public void TickFailed() => _tickFailures.Add(1);

    private readonly Histogram<double> _tickDuration = meters.Create(MeterName).CreateHistogram(
        "roomreconciler_reconcile_tick_duration_seconds", unit: null, description: "How long one reconcile tick took.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TickBuckets });

    public void TickTook(TimeSpan duration) => _tickDuration.Record(duration.TotalSeconds);

    // "LiveKit unreadable for longer than the grace" is time() minus its maximum over the replicas (only the elected one
    // ticks), which no counter rate can say.
    private readonly Gauge<double> _liveKitLastRead = meters.Create(MeterName).CreateGauge<double>(
        "roomreconciler_livekit_last_read_timestamp_seconds", description: "When a reconcile tick last read LiveKit's rooms, in Unix seconds.");

    /// <summary>A tick read LiveKit's rooms now.</summary>
    public void LiveKitRead() => _liveKitLastRead.Record(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);

    private readonly Gauge<double> _verificationPeriod = meters.Create(MeterName).CreateGauge<double>(
        "roomreconciler_reconcile_verification_period_seconds",
        description: "How long ago the listed room looked at longest ago was seen: every room has been looked at within it (6 poll intervals, longer on a short LiveKit request budget).");

    public void VerificationPeriod(TimeSpan period) => _verificationPeriod.Record(period.TotalSeconds);

    private readonly Counter<long> _transitions = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_clock_transitions_total", unit: null, description: "Clock transitions applied.", tags: MetricsExport.Labels("kind", "source"));

    /// <summary>A clock changed; labelled with the database's words (kind="paused", source="poll").</summary>
    public void Transition(ClockTransition kind, ClockSource source) =>
        _transitions.Add(1, new("kind", EventNames.Of(kind)), new("source", EventNames.Of(source)));

    private readonly Counter<long> _maxDurationEnds = meters.Create(MeterName).CreateCounter<long>(
        "roomreconciler_sessions_max_duration_total", description: "Sessions ended because their clock reached Reconciler:MaxSessionDuration.");

    /// <summary>A session ended because its clock reached Reconciler:MaxSessionDuration.</summary>
    public void MaxDurationEnd() => _maxDurationEnds.Add(1);
}

/// <summary>Spans of the reconciler: one per poll tick, one per room reconciled on its own (webhook, grace deadline).</summary>
public static class ReconcileTracing
{
    public static readonly ActivitySource Source = new("RoomReconciler.Reconciliation");
}
