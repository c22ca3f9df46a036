using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The imperative shell around <see cref="ClockDecider.Decide"/>: observe LiveKit, decide, apply in one round trip.
/// Level-triggered: each pass looks at the whole current state, so a lost or duplicated webhook changes nothing the
/// next pass would not fix. It neither schedules nor reports: its results say what changed and when to look again,
/// and its callers (<see cref="RoomWorker"/>, <see cref="PollJob"/>) requeue, log and count.
/// </summary>
public sealed class ClockReconciler(
    SessionStore store,
    ILiveKitRooms liveKit,
    IOptionsMonitor<ReconcilerOptions> options,
    ILogger<ClockReconciler> log) : IRoomReconciler
{
    // ListParticipants calls in flight at once during a poll: enough to hide latency, few enough to be polite.
    private const int ParallelLookups = 16;

    /// <summary>
    /// Every room whose listing is unchanged is still looked at within this many ticks: num_participants counts
    /// hidden, SIP and JOINING participants and lags (docs/livekit.md §2), so an unchanged listing can hide a change
    /// of who is present, and only a webhook, which LiveKit may drop, would tell.
    /// </summary>
    public const int VerifyEveryTicks = 6;

    /// <summary>
    /// One poll tick over every session that is not ended: one ListRooms, ListParticipants only for the rooms whose
    /// listing changed or whose turn to be verified it is, and every decision applied in one statement.
    /// </summary>
    public async Task<PollResult> ReconcileAllAsync(CancellationToken ct)
    {
        var (sessions, clock) = await store.LoadAsync(ct);
        var settings = options.CurrentValue;
        var rules = DecisionRules.From(settings);
        IReadOnlyList<ListedRoom> listed;
        try { listed = await liveKit.ListRoomsAsync(ct); }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("LiveKit ListRooms failed, no clock pauses or resumes this tick: {Reason}", e.Message);
            // Unknown is not zero, but a clock must still end at Reconciler:MaxSessionDuration.
            var capped = sessions.Select(r => Decide(r, RoomObservation.Unknown, clock, rules, null, null))
                .Where(d => d.Decision.Actions.Count > 0).ToList();
            var ended = capped.Count == 0 ? [] : await store.ApplyAsync(capped, ClockSource.Poll, ct);
            return new PollResult(sessions.Count, 0, 0, LiveKitFailed: true, ended, [], clock);
        }

        // Calls live at the install's cutover join the tracked sessions by themselves (SessionStore.AdoptLiveAsync).
        if (await store.AdoptLiveAsync(listed, sessions, settings, ct) > 0) (sessions, clock) = await store.LoadAsync(ct);
        var rooms = listed.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var names = settings.Rooms();

        // Sort every session into what it needs, without I/O; then spend the request budget by value: a due grace,
        // the rooms whose listing changed, and the verification sweep, oldest observed first, with what is left.
        var pending = new PendingDecision?[sessions.Count];
        var looks = new List<(int Index, RequestPriority Priority)>();
        var changed = new List<int>();
        var listedCount = 0;
        for (var i = 0; i < sessions.Count; i++)
        {
            var reading = sessions[i];
            rooms.TryGetValue(names.For(reading.Session.Id), out var room);
            if (room is null)
            {
                // Nothing to start, nothing to stop; or a room LiveKit does not list, which is empty.
                if (reading.Session.StartedAt is not null) pending[i] = Decide(reading, RoomObservation.Absent, clock, rules, null, null);
                continue;
            }
            listedCount++;
            if (room.Sid != reading.RoomSid || room.NumParticipants != reading.RoomNumParticipants) { changed.Add(i); continue; }
            // The listing says nothing moved: decide on what was stored. Only a due action needs LiveKit's exact word.
            var cached = Decide(reading, Remembered(reading.Session), clock, rules, room, null);
            if (cached.Decision.Actions.Count > 0) looks.Add((i, RequestPriority.GraceDeadline));
            else pending[i] = cached;
        }
        var changedLooks = await liveKit.AffordAsync(RequestPriority.Listing, changed.Count, every: null, ct);
        looks.AddRange(changed.OrderBy(i => sessions[i].Session.ObservedAt ?? DateTimeOffset.MinValue).Take(changedLooks).Select(i => (i, RequestPriority.Prepaid)));
        if (changedLooks < changed.Count)
            log.LogInformation("LiveKit request budget: looked at {Looked} of {Changed} rooms whose listing changed; the rest wait for the next ticks",
                changedLooks, changed.Count);
        var verify = ToVerify(sessions, pending, listedCount);
        var verified = await liveKit.AffordAsync(RequestPriority.Verification, verify.Count, settings.PollInterval, ct);
        foreach (var i in verify.Take(verified))
        {
            looks.Add((i, RequestPriority.Prepaid));
            pending[i] = null;
        }

        await Parallel.ForEachAsync(looks, new ParallelOptions { MaxDegreeOfParallelism = ParallelLookups, CancellationToken = ct },
            async (look, token) =>
            {
                var reading = sessions[look.Index];
                var roomName = names.For(reading.Session.Id);
                var observed = await ObserveAsync(roomName, look.Priority, token);
                if (observed is RoomObservation.Known) pending[look.Index] = Observed(Decide(reading, observed, clock, rules, rooms[roomName], null));
            });

        var decided = pending.OfType<PendingDecision>().ToList();
        var applied = await store.ApplyAsync(decided, ClockSource.Poll, ct);
        var rechecks = decided.Where(d => d.Decision.RecheckAt is not null).Select(d => (d.Reading.Session.Id, d.Decision.RecheckAt!.Value)).ToList();
        // How long ago the room looked at longest ago was seen, of those this tick did not look at: every listed room has
        // been looked at within it. 6 poll intervals with budget to spare, longer when the sweep gets less.
        var looked = looks.Select(l => l.Index).ToHashSet();
        var oldest = Enumerable.Range(0, sessions.Count).Where(i => pending[i] is { RoomSid: not null } && !looked.Contains(i))
            .Select(i => sessions[i].Session.ObservedAt).Min();
        TimeSpan? period = oldest is { } seen ? clock.Now - seen : null;
        return new PollResult(sessions.Count, looks.Count, verified, LiveKitFailed: false, applied, rechecks, clock, period);
    }

    /// <summary>
    /// The rooms to look at this tick although their listing did not change, in the order to look at them: the ⌈n / 6⌉
    /// looked at longest ago, of the n sessions whose room is listed (fewer when the request budget is short). A look
    /// stores observed_at, so the choice comes from the database, the same on whichever replica runs the tick, and with
    /// enough budget every such room is looked at within <see cref="VerifyEveryTicks"/> ticks.
    /// </summary>
    private static List<int> ToVerify(IReadOnlyList<SessionReading> sessions, PendingDecision?[] cached, int listed)
    {
        var quota = (listed + VerifyEveryTicks - 1) / VerifyEveryTicks;
        return Enumerable.Range(0, sessions.Count).Where(i => cached[i] is { RoomSid: not null })
            .OrderBy(i => sessions[i].Session.ObservedAt ?? DateTimeOffset.MinValue).ThenBy(i => sessions[i].Session.Id)
            .Take(quota).ToList();
    }

    /// <summary>A decision made on LiveKit's exact word: its presence is stored even when unchanged, to record when it was looked at.</summary>
    private static PendingDecision Observed(PendingDecision pending) =>
        pending.Decision.Presence is not null ? pending : pending with
        {
            Decision = pending.Decision with { Presence = new Presence(pending.Reading.Session.Participants, pending.Reading.Session.BelowSince) },
        };

    /// <summary>
    /// Reconciles one session's room now (a webhook, or a grace that ends), with a hint of when it emptied, or of when
    /// a participant became ACTIVE (participant_joined's createdAt).
    /// </summary>
    public async Task<RoomResult> ReconcileAsync(RoomRequest request, CancellationToken ct)
    {
        if (request is { HasDepartures: true, Look: true })
        {
            // What webhooks said left first, then the look: a return merged after a departure then finds the grace that
            // ran between them, and pauses at its end and resumes at the return, as a poll would.
            var departures = await ReconcileAsync(request with { Look = false, ActiveHint = null }, ct);
            var look = await ReconcileAsync(request with { Departed = null, Closed = false, DropHint = null }, ct);
            return look with { Applied = [.. departures.Applied, .. look.Applied] };
        }
        var (sessions, clock) = await store.LoadAsync(request.SessionId, ct);
        if (sessions.Count == 0) return new RoomResult([], null, clock);
        var reading = sessions[0];
        var settings = options.CurrentValue;
        // A deadline whose grace is over already (they came back, or it paused) has nothing left to look at.
        if (request.DeadlineOnly && (reading.Session.BelowSince is null || reading.Session.Clock.IsPaused))
            return new RoomResult([], null, clock);
        var observed = request.Look
            ? await ObserveAsync(settings.Rooms().For(request.SessionId), request.Priority, ct)
            : request.Closed ? RoomObservation.Absent
            : new RoomObservation.Known(Remembered(reading.Session).Participants.Where(p => !request.Departed!.Contains(p.Identity)).ToList());
        if (request.ActiveHint is { } hint && observed is RoomObservation.Known known)
            observed = new RoomObservation.Known(known.Participants.Select(hint.ApplyTo).ToList());
        // The listing fields stay as stored: only a poll's ListRooms may say the room changed.
        var decided = Decide(reading, observed, clock, DecisionRules.From(settings), null, request.DropHint);
        var decision = decided with { RoomSid = reading.RoomSid, RoomNumParticipants = reading.RoomNumParticipants };
        // Only LiveKit's own answer is a look (observed_at); a departure decided from a webhook is not.
        if (observed is RoomObservation.Known && request.Look) decision = Observed(decision);
        else if (decision.Decision.Actions.Count == 0 && decision.Decision.Presence is null) return new RoomResult([], decision.Decision.RecheckAt, clock);
        var applied = await store.ApplyAsync([decision], request.Source, ct);
        return new RoomResult(applied, decision.Decision.RecheckAt, clock);
    }

    private static PendingDecision Decide(SessionReading reading, RoomObservation observed, DatabaseTime clock, DecisionRules rules,
        ListedRoom? room, DateTimeOffset? dropHint)
    {
        var decision = ClockDecider.Decide(reading.Session, observed, clock.Now, rules, dropHint);
        // Only a transition writes an event, so only then is there anything to explain (not on every session of every tick).
        var details = decision.Actions.Count == 0 ? null : new JsonObject
        {
            ["participants"] = new JsonArray((decision.Presence?.Participants ?? reading.Session.Participants).Select(p => (JsonNode)p).ToArray()),
            ["decided_at"] = clock.Now.UtcDateTime,
        };
        return new PendingDecision(reading, decision, room?.Sid, room?.NumParticipants, details);
    }

    /// <summary>The stored identities, standing in for a room whose listing did not change.</summary>
    private static RoomObservation.Known Remembered(StoredSession session) =>
        new(session.Participants.Select(p => new ObservedParticipant(p, ParticipantCategory.Standard, Hidden: false, Active: true, JoinedAt: null)).ToList());

    private async Task<RoomObservation> ObserveAsync(string room, RequestPriority priority, CancellationToken ct)
    {
        try { return new RoomObservation.Known(await liveKit.ListParticipantsAsync(room, priority, ct)); }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("LiveKit ListParticipants failed for room {Room}, its clock stays as it is: {Reason}", room, e.Message);
            return RoomObservation.Unknown;
        }
    }
}
