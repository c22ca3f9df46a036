namespace RoomReconciler.Reconciliation;

/// <summary>One participant as LiveKit lists it, reduced to what the clock cares about.</summary>
public sealed record ObservedParticipant(string Identity, ParticipantCategory Category, bool Hidden, bool Disconnected, DateTimeOffset? JoinedAt);

/// <summary>Kinds from livekit-protocol.md §2; Other for anything newer than this code.</summary>
public enum ParticipantCategory { Standard, Ingress, Egress, Sip, Agent, Connector, Bridge, Other }

/// <summary>What LiveKit said about a room: its participants, an empty/absent room, or nothing readable.</summary>
public sealed record RoomObservation(IReadOnlyList<ObservedParticipant>? Participants)
{
    /// <summary>LiveKit could not be read: unknown is not zero, so nothing may change.</summary>
    public static readonly RoomObservation Unknown = new((IReadOnlyList<ObservedParticipant>?)null);

    /// <summary>LiveKit lists no such room: it is empty (LiveKit closes empty rooms after departure_timeout).</summary>
    public static readonly RoomObservation Absent = new([]);

    public bool IsKnown => Participants is not null;
}

/// <summary>A session's clock and presence as stored, read in one query with the database's now.</summary>
public sealed record StoredSession(
    Guid Id,
    DateTimeOffset? StartedAt,
    bool IsPaused,
    DateTimeOffset? LastStateChangeAt,
    IReadOnlyList<string> Participants,
    DateTimeOffset? BelowSince,
    DateTimeOffset? ObservedAt);

public enum ClockTransition { Started, Paused, Resumed }

public sealed record ClockAction(ClockTransition Transition, DateTimeOffset EffectiveAt, string Reason);

/// <summary>The presence to store: counted identities and when they fell below the minimum (null while enough).</summary>
public sealed record Presence(IReadOnlyList<string> Participants, DateTimeOffset? BelowSince);

/// <param name="Actions">clock transitions in the order they took effect (a pause and a resume can both be due)</param>
/// <param name="Presence">the presence to store, or null when it is unchanged</param>
/// <param name="RecheckAt">when a running grace ends and the room must be looked at again, if one is running</param>
public sealed record Decision(IReadOnlyList<ClockAction> Actions, Presence? Presence, DateTimeOffset? RecheckAt)
{
    public static readonly Decision Nothing = new([], null, null);
}

public sealed record DecisionRules(int MinParticipants, TimeSpan GracePeriod, bool AutoStart, IReadOnlySet<ParticipantCategory> CountedCategories)
{
    public static DecisionRules From(ReconcilerOptions options) =>
        new(options.MinParticipants, options.GracePeriod, options.AutoStart, options.CountedCategories());
}

/// <summary>
/// The reconciler's functional core: stored state + observed room + the database's now → what to do.
/// No I/O and no clock of its own, so every case is a table row in the tests.
/// </summary>
public static class Reconcile
{
    public const string ReasonStarted = "participants_joined";
    public const string ReasonPaused = "participant_disconnected";
    public const string ReasonResumed = "participants_reconnected";

    /// <param name="dropHint">when the count probably fell (a participant_left webhook's createdAt); null for a poll</param>
    public static Decision Decide(StoredSession stored, RoomObservation room, DateTimeOffset now, DecisionRules rules, DateTimeOffset? dropHint = null)
    {
        if (!room.IsKnown) return Decision.Nothing;

        var counted = Counted(room.Participants!, rules.CountedCategories);
        var identities = counted.Keys.Order(StringComparer.Ordinal).ToList();
        var enough = counted.Count >= rules.MinParticipants;
        var actions = new List<ClockAction>();
        DateTimeOffset? belowSince = null;
        DateTimeOffset? recheckAt = null;

        if (enough)
        {
            var reachedAt = ReachedMinimumAt(counted, rules.MinParticipants, now);
            if (stored.StartedAt is null)
            {
                if (rules.AutoStart) actions.Add(new(ClockTransition.Started, reachedAt, ReasonStarted));
            }
            else if (stored.IsPaused)
                actions.Add(new(ClockTransition.Resumed, reachedAt, ReasonResumed));
            else if (stored.BelowSince is { } since && since + rules.GracePeriod <= reachedAt)
            {
                // Back, but only after the grace had run out between two looks: the pause was due all the same.
                actions.Add(new(ClockTransition.Paused, since + rules.GracePeriod, ReasonPaused));
                actions.Add(new(ClockTransition.Resumed, reachedAt, ReasonResumed));
            }
        }
        else if (stored.StartedAt is not null)
        {
            belowSince = stored.BelowSince ?? Clamp(dropHint ?? now, stored.ObservedAt, now);
            var deadline = belowSince.Value + rules.GracePeriod;
            if (stored.IsPaused) { }
            else if (deadline <= now) actions.Add(new(ClockTransition.Paused, deadline, ReasonPaused));
            else recheckAt = deadline;
        }

        var presence = new Presence(identities, belowSince);
        var unchanged = presence.BelowSince == stored.BelowSince && identities.SequenceEqual(stored.Participants, StringComparer.Ordinal);
        return new Decision(actions, unchanged ? null : presence, recheckAt);
    }

    /// <summary>Distinct identities that keep a clock running, each with its earliest join time.</summary>
    private static Dictionary<string, DateTimeOffset?> Counted(IEnumerable<ObservedParticipant> participants, IReadOnlySet<ParticipantCategory> categories)
    {
        var counted = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        foreach (var p in participants)
        {
            if (p.Hidden || p.Disconnected || !categories.Contains(p.Category) || string.IsNullOrEmpty(p.Identity)) continue;
            counted[p.Identity] = counted.TryGetValue(p.Identity, out var seen) && Earlier(seen, p.JoinedAt) ? seen : p.JoinedAt;
        }
        return counted;
    }

    private static bool Earlier(DateTimeOffset? a, DateTimeOffset? b) => a is not null && (b is null || a <= b);

    /// <summary>
    /// When the count last reached the minimum: the MinParticipants-th earliest join among those present now,
    /// since each of them has been present from its join on. A join time LiveKit did not give counts as now.
    /// </summary>
    private static DateTimeOffset ReachedMinimumAt(Dictionary<string, DateTimeOffset?> counted, int minimum, DateTimeOffset now) =>
        counted.Values.Select(j => j is { } t && t < now ? t : now).Order().ElementAt(minimum - 1);

    private static DateTimeOffset Clamp(DateTimeOffset value, DateTimeOffset? floor, DateTimeOffset ceiling) =>
        value > ceiling ? ceiling : floor is { } f && value < f ? f : value;
}
