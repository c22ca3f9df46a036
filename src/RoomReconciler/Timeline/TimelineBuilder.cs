using System.Text.Json;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Timeline;

/// <summary>The clock columns of one session and the database's now (session_clock_get).</summary>
public sealed record StoredClock(
    Guid SessionId, DateTime? StartedAt, DateTime? EndedAt, bool IsPaused, long TotalPausedMs,
    DateTime? LastStateChangeAt, DateTime ServerNow, long ElapsedMs);

public sealed record StoredEvent(
    long Id, string Type, string? Reason, DateTime EffectiveAt, DateTime CreatedAt, string Source, JsonElement Details)
{
    /// <summary>The counted identities the reconciler saw when it decided (details.participants); null when not recorded (API calls).</summary>
    public IReadOnlyList<string>? Participants =>
        Details.ValueKind == JsonValueKind.Object && Details.TryGetProperty("participants", out var p) && p.ValueKind == JsonValueKind.Array
            ? p.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
            : null;
}

public sealed record StoredPresence(IReadOnlyList<string> Participants, DateTime? BelowSince, DateTime ObservedAt, string Source);

/// <summary>
/// Derives the timeline from what is stored: a pure function, so every case is testable without I/O.
/// The events are the truth for the intervals; the clock columns are the truth for the bill, and
/// <see cref="SessionTimeline.Consistent"/> says whether the two agree.
/// </summary>
public static class TimelineBuilder
{
    public static SessionTimeline Build(StoredClock clock, IReadOnlyList<StoredEvent> events, StoredPresence? presence,
        ReconcilerOptions rules)
    {
        var now = clock.ServerNow;
        var end = clock.EndedAt ?? now;
        var running = new List<TimelineInterval>();
        var paused = new List<TimelineInterval>();
        var graces = new List<GracePeriod>();
        var people = new PresenceTracker();

        DateTime? runningSince = null;
        StoredEvent? pausedBy = null;
        DateTime? previous = null;
        long resumedPausedMs = 0;
        foreach (var e in events)
        {
            var at = e.EffectiveAt;
            DateTime? droppedAt = null;
            switch (e.Type)
            {
                case "started":
                    runningSince ??= at;
                    break;
                case "paused":
                    if (runningSince is { } r) { running.Add(Interval(r, at, false)); runningSince = null; }
                    pausedBy = e;
                    if (e.Reason == ClockDecider.ReasonPaused && e.Source != "api")
                    {
                        // The reconciler pauses at (drop + grace); the drop is never before the previous transition.
                        var dropped = at - rules.GracePeriod;
                        if (previous is { } p && dropped < p) dropped = p;
                        droppedAt = dropped;
                        graces.Add(new GracePeriod(Iso.Format(dropped), Iso.Format(at), Iso.Ms(dropped, at), "paused", e.Participants ?? []));
                    }
                    break;
                case "resumed":
                    if (pausedBy is { } pb)
                    {
                        paused.Add(Interval(pb.EffectiveAt, at, false, pb.Reason, pb.Source, e.Reason));
                        resumedPausedMs += paused[^1].Ms;
                        pausedBy = null;
                    }
                    runningSince = at;
                    break;
                case "ended":
                    if (runningSince is { } r2) running.Add(Interval(r2, at, false, endReason: e.Reason));
                    if (pausedBy is { } pb2) paused.Add(Interval(pb2.EffectiveAt, at, false, pb2.Reason, pb2.Source, e.Reason));
                    runningSince = null;
                    pausedBy = null;
                    break;
            }
            if (e.Participants is { } seen) people.Saw(seen, at, droppedAt ?? at);
            previous = at;
        }

        // A session whose clock was set by the application's own SQL, without events: the columns still tell the start.
        if (runningSince is null && pausedBy is null && running.Count == 0 && clock.StartedAt is { } started && clock.EndedAt is null && !clock.IsPaused)
            runningSince = started;
        var open = clock.EndedAt is null;
        if (runningSince is { } last) running.Add(Interval(last, end, open));
        if (pausedBy is { } stillPaused) paused.Add(Interval(stillPaused.EffectiveAt, end, open, stillPaused.Reason, stillPaused.Source));

        if (presence is not null)
        {
            // The reconciler stops looking at a session once it has ended: a later look says nothing about the session.
            var leftAt = presence.BelowSince ?? presence.ObservedAt;
            people.Saw(presence.Participants, presence.ObservedAt, leftAt > end ? end : leftAt, onlyLeaving: true);
            if (presence.BelowSince is { } below && clock is { StartedAt: not null, EndedAt: null, IsPaused: false })
            {
                var deadline = below + rules.GracePeriod;
                graces.Add(new GracePeriod(Iso.Format(below), Iso.Format(deadline), Iso.Ms(below, deadline), "pending", presence.Participants));
            }
        }

        // total_paused_ms grows only when a pause is resumed; a pause that the end closed stays out of it.
        var billed = clock.ElapsedMs;
        var consistent = running.Sum(r => r.Ms) == billed && resumedPausedMs == clock.TotalPausedMs;

        return new SessionTimeline(
            clock.SessionId, rules.RoomName(clock.SessionId), Iso.Format(now), Iso.Format(clock.StartedAt), Iso.Format(clock.EndedAt),
            clock.IsPaused, clock.TotalPausedMs, billed, clock.StartedAt is null ? null : Iso.Format(end),
            (long)rules.GracePeriod.TotalMilliseconds, rules.MinParticipants, consistent,
            events.Select(e => new TimelineEvent(e.Id, e.Type, e.Reason, Iso.Format(e.EffectiveAt), Iso.Format(e.CreatedAt),
                Iso.Ms(e.EffectiveAt, e.CreatedAt), e.Source, e.Details)).ToList(),
            running, paused, graces, people.Finish(end, open),
            presence is null ? null : new PresenceRow(presence.Participants, Iso.Format(presence.BelowSince), Iso.Format(presence.ObservedAt), presence.Source));
    }

    private static TimelineInterval Interval(DateTime from, DateTime to, bool open, string? reason = null, string? source = null, string? endReason = null) =>
        new(Iso.Format(from), Iso.Format(to), Math.Max(0, Iso.Ms(from, to)), open, reason, source, endReason);

    /// <summary>Each identity's stretches of presence, from the identities recorded at each transition.</summary>
    private sealed class PresenceTracker
    {
        private readonly Dictionary<string, DateTime> _since = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<PresenceInterval>> _intervals = new(StringComparer.Ordinal);

        /// <param name="at">when these identities were seen</param>
        /// <param name="leftAt">when those no longer seen left (a pause's drop moment)</param>
        /// <param name="onlyLeaving">the presence row: it tells who left since, but a newcomer's arrival time is unknown</param>
        public void Saw(IReadOnlyList<string> identities, DateTime at, DateTime leftAt, bool onlyLeaving = false)
        {
            var seen = identities.ToHashSet(StringComparer.Ordinal);
            foreach (var (identity, since) in _since.Where(p => !seen.Contains(p.Key)).ToList())
            {
                Add(identity, new PresenceInterval(Iso.Format(since), Iso.Format(leftAt < since ? since : leftAt), false));
                _since.Remove(identity);
            }
            if (onlyLeaving) return;
            foreach (var identity in identities) _since.TryAdd(identity, at);
        }

        public IReadOnlyList<ParticipantPresence> Finish(DateTime end, bool open)
        {
            foreach (var (identity, since) in _since)
                Add(identity, new PresenceInterval(Iso.Format(since), Iso.Format(end < since ? since : end), open));
            _since.Clear();
            return _intervals.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new ParticipantPresence(p.Key, p.Value)).ToList();
        }

        private void Add(string identity, PresenceInterval interval)
        {
            if (!_intervals.TryGetValue(identity, out var list)) _intervals[identity] = list = [];
            list.Add(interval);
        }
    }
}
