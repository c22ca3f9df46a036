using RoomReconciler.Clock;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Timeline;

/// <summary>
/// Derives the timeline from what is stored: a pure function, so every case is testable without I/O.
/// The events are the truth for the intervals; the clock columns are the truth for the bill, and
/// <see cref="SessionTimeline.Consistent"/> says whether the two agree.
/// </summary>
public static class TimelineBuilder
{
    public static SessionTimeline Build(ClockState clock, long now, IReadOnlyList<StoredEvent> events, StoredPresence? presence,
        ReconcilerOptions rules)
    {
        var grace = (long)rules.GracePeriod.TotalMilliseconds;
        var end = clock.EndedAt ?? now;
        var running = new List<TimelineInterval>();
        var paused = new List<TimelineInterval>();
        var graces = new List<GracePeriod>();
        var people = new PresenceTracker();

        long? runningSince = null;
        StoredEvent? pausedBy = null;
        long? previous = null;
        long resumedPausedMs = 0;
        foreach (var e in events)
        {
            var at = e.EffectiveAt;
            long? droppedAt = null;
            switch (e.Type)
            {
                case ClockTransition.Started:
                    runningSince ??= at;
                    break;
                case ClockTransition.Paused:
                    if (runningSince is { } r) { running.Add(Interval(r, at, false)); runningSince = null; }
                    pausedBy = e;
                    if (e.Reason == ClockDecider.ReasonPaused && e.Source != ClockSource.Api)
                    {
                        // The reconciler pauses at (drop + grace); the drop is never before the previous transition.
                        var dropped = at - grace;
                        if (previous is { } p && dropped < p) dropped = p;
                        droppedAt = dropped;
                        graces.Add(new GracePeriod(ClockTime.Iso(dropped), ClockTime.Iso(at), at - dropped, "paused", e.Participants ?? []));
                    }
                    break;
                case ClockTransition.Resumed:
                    if (pausedBy is { } pb)
                    {
                        paused.Add(Interval(pb.EffectiveAt, at, false, pb.Reason, pb.Source, e.Reason));
                        resumedPausedMs += paused[^1].Ms;
                        pausedBy = null;
                    }
                    runningSince = at;
                    break;
                case ClockTransition.Ended:
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
                var deadline = below + grace;
                graces.Add(new GracePeriod(ClockTime.Iso(below), ClockTime.Iso(deadline), deadline - below, "pending", presence.Participants));
            }
        }

        // total_paused_ms grows only when a pause is resumed; a pause that the end closed stays out of it.
        var billed = clock.ElapsedMs(now);
        var consistent = running.Sum(r => r.Ms) == billed && resumedPausedMs == clock.TotalPausedMs;

        return new SessionTimeline(
            clock.SessionId, rules.Rooms().For(clock.SessionId), ClockTime.Iso(now), ClockTime.Iso(clock.StartedAt), ClockTime.Iso(clock.EndedAt),
            clock.IsPaused, clock.TotalPausedMs, billed, clock.StartedAt is null ? null : ClockTime.Iso(end),
            grace, rules.MinParticipants, consistent,
            events.Select(e => new TimelineEvent(e.Id, EventNames.Of(e.Type), e.Reason, ClockTime.Iso(e.EffectiveAt), ClockTime.Iso(e.CreatedAt),
                e.CreatedAt - e.EffectiveAt, EventNames.Of(e.Source), e.Details)).ToList(),
            running, paused, graces, people.Finish(end, open),
            presence is null ? null : new PresenceRow(presence.Participants, ClockTime.Iso(presence.BelowSince), ClockTime.Iso(presence.ObservedAt), EventNames.Of(presence.Source)));
    }

    private static TimelineInterval Interval(long from, long to, bool open, string? reason = null, ClockSource? source = null, string? endReason = null) =>
        new(ClockTime.Iso(from), ClockTime.Iso(to), Math.Max(0, to - from), open, reason, source is { } s ? EventNames.Of(s) : null, endReason);

    /// <summary>Each identity's stretches of presence, from the identities recorded at each transition.</summary>
    private sealed class PresenceTracker
    {
        private readonly Dictionary<string, long> _since = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<PresenceInterval>> _intervals = new(StringComparer.Ordinal);

        /// <param name="at">when these identities were seen</param>
        /// <param name="leftAt">when those no longer seen left (a pause's drop moment)</param>
        /// <param name="onlyLeaving">the presence row: it tells who left since, but a newcomer's arrival time is unknown</param>
        public void Saw(IReadOnlyList<string> identities, long at, long leftAt, bool onlyLeaving = false)
        {
            var seen = identities.ToHashSet(StringComparer.Ordinal);
            foreach (var (identity, since) in _since.Where(p => !seen.Contains(p.Key)).ToList())
            {
                Add(identity, new PresenceInterval(ClockTime.Iso(since), ClockTime.Iso(leftAt < since ? since : leftAt), false));
                _since.Remove(identity);
            }
            if (onlyLeaving) return;
            foreach (var identity in identities) _since.TryAdd(identity, at);
        }

        public IReadOnlyList<ParticipantPresence> Finish(long end, bool open)
        {
            foreach (var (identity, since) in _since)
                Add(identity, new PresenceInterval(ClockTime.Iso(since), ClockTime.Iso(end < since ? since : end), open));
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
