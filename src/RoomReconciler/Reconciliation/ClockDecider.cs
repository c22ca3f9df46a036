using System.Text.Json.Nodes;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The reconciler's functional core: stored state + observed room + the database's now → what to do.
/// No I/O and no clock of its own, so every case is a table row in the tests.
/// </summary>
public static class ClockDecider
{
    public const string ReasonStarted = "participants_joined";
    public const string ReasonPaused = "participant_disconnected";
    public const string ReasonResumed = "participants_reconnected";
    public const string ReasonMaxDuration = "max_duration";

    /// <param name="dropHint">when the count probably fell (a participant_left webhook's createdAt); null for a poll</param>
    public static Decision Decide(StoredSession stored, RoomObservation room, DateTimeOffset now, DecisionRules rules, DateTimeOffset? dropHint = null) =>
        // The cap holds even when LiveKit cannot be read: unknown is not zero, but it is not forever either.
        CapDuration(stored, room is RoomObservation.Known known ? DecidePresence(stored, known.Participants, now, rules, dropHint) : Decision.Nothing,
            now, rules.MaxSessionDuration);

    private static Decision DecidePresence(StoredSession stored, IReadOnlyList<ObservedParticipant> participants, DateTimeOffset now, DecisionRules rules,
        DateTimeOffset? dropHint)
    {
        var counted = Counted(participants, rules.CountedCategories, stored);
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
            else if (stored.Clock.IsPaused)
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
            if (stored.Clock.IsPaused) { }
            else if (deadline <= now) actions.Add(new(ClockTransition.Paused, deadline, ReasonPaused));
            else recheckAt = deadline;
        }

        var presence = new Presence(identities, belowSince);
        var unchanged = presence.BelowSince == stored.BelowSince && identities.SequenceEqual(stored.Participants, StringComparer.Ordinal);
        return new Decision(actions, unchanged ? null : presence, recheckAt);
    }

    /// <summary>
    /// Ends a running clock whose elapsed time reaches the cap, effective at the moment it does: started_at +
    /// total paused + cap, moved on by any pause and resume this decision applies before it. Later actions are dropped.
    /// </summary>
    private static Decision CapDuration(StoredSession stored, Decision decision, DateTimeOffset now, TimeSpan max)
    {
        if (max <= TimeSpan.Zero) return decision;
        var (started, paused, pausedTotal, since) = (stored.StartedAt, stored.Clock.IsPaused, stored.TotalPaused, stored.LastStateChangeAt);
        var kept = new List<ClockAction>();
        foreach (var action in decision.Actions.Append(null))
        {
            var until = action?.EffectiveAt ?? now;
            if (started is { } s && !paused && s + pausedTotal + max <= until)
                return new Decision([.. kept, new(ClockTransition.Ended, s + pausedTotal + max, ReasonMaxDuration)], decision.Presence, null);
            if (action is null) break;
            kept.Add(action);
            switch (action.Transition)
            {
                case ClockTransition.Started: (started, paused) = (action.EffectiveAt, false); break;
                case ClockTransition.Paused: (paused, since) = (true, action.EffectiveAt); break;
                case ClockTransition.Resumed: (pausedTotal, paused) = (pausedTotal + (action.EffectiveAt - (since ?? action.EffectiveAt)), false); break;
            }
        }
        return decision;
    }

    /// <summary>
    /// Distinct identities that keep a clock running (ACTIVE, not hidden, a counted kind), each with its earliest join
    /// time. One that was not present at the last observation cannot have become present before it, so its time is
    /// clamped to that observation: a joined_at from a long JOINING does not bill the wait.
    /// </summary>
    private static Dictionary<string, DateTimeOffset?> Counted(IEnumerable<ObservedParticipant> participants, IReadOnlySet<ParticipantCategory> categories,
        StoredSession stored)
    {
        var counted = new Dictionary<string, DateTimeOffset?>(StringComparer.Ordinal);
        foreach (var p in participants)
        {
            if (p.Hidden || !p.Active || !categories.Contains(p.Category) || string.IsNullOrEmpty(p.Identity)) continue;
            var joinedAt = stored.ObservedAt is { } floor && p.JoinedAt < floor && !stored.Participants.Contains(p.Identity, StringComparer.Ordinal)
                ? floor : p.JoinedAt;
            counted[p.Identity] = counted.TryGetValue(p.Identity, out var seen) && Earlier(seen, joinedAt) ? seen : joinedAt;
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

/// <param name="Actions">clock transitions in the order they took effect (a pause and a resume can both be due)</param>
/// <param name="Presence">the presence to store, or null when it is unchanged</param>
/// <param name="RecheckAt">when a running grace ends and the room must be looked at again, if one is running</param>
public sealed record Decision(IReadOnlyList<ClockAction> Actions, Presence? Presence, DateTimeOffset? RecheckAt)
{
    public static readonly Decision Nothing = new([], null, null);
}

/// <summary>One transition a decision asks for, effective at a database time, with the reason the event log records.</summary>
public sealed record ClockAction(ClockTransition Transition, DateTimeOffset EffectiveAt, string Reason);

/// <summary>The presence to store: counted identities and when they fell below the minimum (null while enough).</summary>
public sealed record Presence(IReadOnlyList<string> Participants, DateTimeOffset? BelowSince);

/// <param name="MaxSessionDuration">elapsed time at which a clock ends; zero for no cap</param>
public sealed record DecisionRules(int MinParticipants, TimeSpan GracePeriod, bool AutoStart, IReadOnlySet<ParticipantCategory> CountedCategories,
    TimeSpan MaxSessionDuration = default)
{
    public static DecisionRules From(ReconcilerOptions options) =>
        new(options.MinParticipants, options.GracePeriod, options.AutoStart, options.CountedCategories(), options.MaxSessionDuration);
}

/// <summary>One decision ready to apply, and what LiveKit's listing said of the room when it changed.</summary>
public sealed record PendingDecision(SessionReading Reading, Decision Decision, string? RoomSid, int? RoomNumParticipants, JsonObject? Details = null)
{
    public bool RoomChanged => RoomSid != Reading.RoomSid || RoomNumParticipants != Reading.RoomNumParticipants;
    public bool HasWork => Decision.Actions.Count > 0 || Decision.Presence is not null || RoomChanged;
}
