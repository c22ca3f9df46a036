namespace RoomReconciler.Reconciliation;

/// <summary>
/// The words session_events and session_reconcile_apply use for transitions, sources and outcomes: the one place
/// where the enums meet the database, so that no C# compares these as strings.
/// </summary>
public static class EventNames
{
    private static readonly (ClockTransition Value, string Name)[] Transitions =
        [(ClockTransition.Started, "started"), (ClockTransition.Paused, "paused"), (ClockTransition.Resumed, "resumed"), (ClockTransition.Ended, "ended")];

    private static readonly (ClockSource Value, string Name)[] Sources =
        [(ClockSource.Poll, "poll"), (ClockSource.Webhook, "webhook"), (ClockSource.Api, "api")];

    private static readonly (ApplyOutcome Value, string Name)[] Outcomes =
        [(ApplyOutcome.Changed, "changed"), (ApplyOutcome.Unchanged, "unchanged"), (ApplyOutcome.Stale, "stale"), (ApplyOutcome.Rejected, "rejected")];

    public static string Of(ClockTransition transition) => NameOf(Transitions, transition);

    public static string Of(ClockSource source) => NameOf(Sources, source);

    public static ClockTransition Transition(string name) => ValueOf(Transitions, name);

    public static ClockSource Source(string name) => ValueOf(Sources, name);

    public static ApplyOutcome Outcome(string name) => ValueOf(Outcomes, name);

    private static string NameOf<T>((T Value, string Name)[] words, T value) where T : struct, Enum =>
        words.Single(w => EqualityComparer<T>.Default.Equals(w.Value, value)).Name;

    private static T ValueOf<T>((T Value, string Name)[] words, string name) where T : struct, Enum =>
        words.SingleOrDefault(w => w.Name == name) is { Name: not null } word
            ? word.Value
            : throw new FormatException($"the database answered '{name}', which is no {typeof(T).Name}");
}
