using Microsoft.Extensions.Options;
using RoomReconciler.Clock;

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
