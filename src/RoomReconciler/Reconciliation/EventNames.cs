namespace RoomReconciler.Reconciliation;

/// <summary>
/// The words session_events and session_reconcile_apply use for transitions, sources and outcomes: the
/// one place where the enums meet the database, so that no C# compares these as strings.
/// </summary>
public static class EventNames
{
    public static string Of(ClockTransition transition) => transition switch
    {
        ClockTransition.Started => "started",
        ClockTransition.Paused => "paused",
        ClockTransition.Resumed => "resumed",
        ClockTransition.Ended => "ended",
        _ => throw new ArgumentOutOfRangeException(nameof(transition), transition, null),
    };

    public static string Of(ClockSource source) => source switch
    {
        ClockSource.Poll => "poll",
        ClockSource.Webhook => "webhook",
        ClockSource.Api => "api",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, null),
    };

    public static ClockTransition Transition(string name) => name switch
    {
        "started" => ClockTransition.Started,
        "paused" => ClockTransition.Paused,
        "resumed" => ClockTransition.Resumed,
        "ended" => ClockTransition.Ended,
        _ => throw new FormatException($"unknown clock transition '{name}'"),
    };

    public static ApplyOutcome Outcome(string name) => name switch
    {
        "changed" => ApplyOutcome.Changed,
        "unchanged" => ApplyOutcome.Unchanged,
        "stale" => ApplyOutcome.Stale,
        "rejected" => ApplyOutcome.Rejected,
        _ => throw new FormatException($"unknown apply outcome '{name}'"),
    };
}
