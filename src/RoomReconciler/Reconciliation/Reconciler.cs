using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// The imperative shell around <see cref="Reconcile.Decide"/>: observe LiveKit, decide per session, apply every
/// decision in one round trip. Level-triggered: each pass looks at the whole current state, so a lost or
/// duplicated webhook changes nothing the next pass would not fix.
/// </summary>
public sealed class Reconciler(
    SessionStore store,
    ILiveKitRooms liveKit,
    IOptionsMonitor<ReconcilerOptions> options,
    RoomReconcileQueue queue,
    ILogger<Reconciler> log)
{
    public const string SourcePoll = "poll";
    public const string SourceWebhook = "webhook";

    // ListParticipants calls in flight at once during a poll: enough to hide latency, few enough to be polite.
    private const int ParallelLookups = 16;

    /// <summary>One poll tick over every session that is not ended.</summary>
    public async Task<TickSummary> ReconcileAllAsync(CancellationToken ct)
    {
        var (sessions, clock) = await store.LoadAsync(ct);
        IReadOnlyList<ListedRoom> listed;
        try { listed = await liveKit.ListRoomsAsync(ct); }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("LiveKit ListRooms failed, nothing changes this tick: {Reason}", e.Message);
            return new TickSummary(sessions.Count, 0, 0, LiveKitFailed: true);
        }

        var settings = options.CurrentValue;
        // Calls live at the install's cutover join the tracked sessions by themselves (SessionStore.AdoptLiveAsync).
        if (await store.AdoptLiveAsync(listed, sessions, settings, ct) > 0) (sessions, clock) = await store.LoadAsync(ct);
        var rules = DecisionRules.From(settings);
        var rooms = listed.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var lookups = 0;
        var pending = new PendingDecision?[sessions.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, sessions.Count),
            new ParallelOptions { MaxDegreeOfParallelism = ParallelLookups, CancellationToken = ct },
            async (i, token) =>
            {
                var reading = sessions[i];
                var roomName = settings.RoomName(reading.Session.Id);
                rooms.TryGetValue(roomName, out var room);
                if (room is null && reading.Session.StartedAt is null) return; // nothing to start, nothing to stop
                if (room is null)
                {
                    pending[i] = Decide(reading, RoomObservation.Absent, clock, rules, null, null);
                    return;
                }
                var unchanged = room.Sid == reading.RoomSid && room.NumParticipants == reading.RoomNumParticipants;
                if (unchanged)
                {
                    // The listing says nothing moved: decide on what was stored. Only a due action needs LiveKit's exact word.
                    var cached = Decide(reading, Remembered(reading.Session), clock, rules, room, null);
                    if (cached.Decision.Actions.Count == 0) { pending[i] = cached; return; }
                }
                Interlocked.Increment(ref lookups);
                var observed = await ObserveAsync(roomName, token);
                if (observed.IsKnown) pending[i] = Decide(reading, observed, clock, rules, room, null);
            });

        var decided = pending.OfType<PendingDecision>().ToList();
        var applied = await store.ApplyAsync(decided, SourcePoll, ct);
        Report(decided, applied, SourcePoll, settings);
        return new TickSummary(sessions.Count, lookups, applied.Count(a => a.Outcome == "changed"), LiveKitFailed: false);
    }

    /// <summary>Reconciles one session's room now (a webhook, or a grace that ends), with a hint of when it emptied.</summary>
    public async Task ReconcileSessionAsync(Guid sessionId, DateTimeOffset? dropHint, string source, CancellationToken ct)
    {
        var (sessions, clock) = await store.LoadAsync(sessionId, ct);
        if (sessions.Count == 0) return;
        var reading = sessions[0];
        var settings = options.CurrentValue;
        var observed = await ObserveAsync(settings.RoomName(sessionId), ct);
        if (!observed.IsKnown) return;
        // The listing fields stay as stored: only a poll's ListRooms may say the room changed.
        var decision = Decide(reading, observed, clock, DecisionRules.From(settings), null, dropHint, source)
            with { RoomSid = reading.RoomSid, RoomNumParticipants = reading.RoomNumParticipants };
        var applied = await store.ApplyAsync([decision], source, ct);
        Report([decision], applied, source, settings);
    }

    private PendingDecision Decide(SessionReading reading, RoomObservation observed, DatabaseTime clock, DecisionRules rules,
        ListedRoom? room, DateTimeOffset? dropHint, string source = SourcePoll)
    {
        var decision = Reconcile.Decide(reading.Session, observed, clock.Now, rules, dropHint);
        if (decision.RecheckAt is { } at) queue.ScheduleAt(reading.Session.Id, at, clock, source);
        // Only a transition writes an event, so only then is there anything to explain (not on every session of every tick).
        var details = decision.Actions.Count == 0 ? null : new JsonObject
        {
            ["participants"] = new JsonArray((decision.Presence?.Participants ?? reading.Session.Participants).Select(p => (JsonNode)p).ToArray()),
            ["decided_at"] = clock.Now.UtcDateTime,
        };
        return new PendingDecision(reading, decision, room?.Sid, room?.NumParticipants, details);
    }

    /// <summary>The stored identities, standing in for a room whose listing did not change.</summary>
    private static RoomObservation Remembered(StoredSession session) =>
        new(session.Participants.Select(p => new ObservedParticipant(p, ParticipantCategory.Standard, false, false, null)).ToList());

    private async Task<RoomObservation> ObserveAsync(string room, CancellationToken ct)
    {
        try { return new RoomObservation(await liveKit.ListParticipantsAsync(room, ct)); }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning("LiveKit ListParticipants failed for room {Room}, its clock stays as it is: {Reason}", room, e.Message);
            return RoomObservation.Unknown;
        }
    }

    private void Report(IReadOnlyList<PendingDecision> decided, IReadOnlyList<AppliedTransition> applied, string source, ReconcilerOptions settings)
    {
        var reasons = decided.SelectMany(d => d.Decision.Actions.Select(a => (d.Reading.Session.Id, a)))
            .ToLookup(x => (x.Id, x.a.Transition.ToString().ToLowerInvariant()), x => x.a.Reason);
        foreach (var t in applied)
        {
            if (t.Outcome == "changed")
            {
                Hosting.Metrics.Transitions.WithLabels(t.EventType ?? "", source).Inc();
                log.LogInformation(
                    "Clock {Transition} session={SessionId} room={Room} {From} -> {To} effective={EffectiveAt:yyyy-MM-ddTHH:mm:ss.fffZ} lag_ms={LagMs} reason={Reason} source={Source}",
                    t.EventType, t.SessionId, settings.RoomName(t.SessionId), From(t.EventType), To(t.EventType), t.EffectiveAt?.UtcDateTime,
                    (long)((t.CreatedAt - t.EffectiveAt) ?? TimeSpan.Zero).TotalMilliseconds,
                    reasons[(t.SessionId, t.EventType ?? "")].FirstOrDefault(), source);
            }
            else if (t.Outcome != "unchanged")
                log.LogDebug("Decision for session {SessionId} not applied: {Outcome}", t.SessionId, t.Outcome);
        }
    }

    private static string From(string? transition) => transition switch { "started" => "not_started", "paused" => "running", _ => "paused" };
    private static string To(string? transition) => transition == "paused" ? "paused" : "running";
}

/// <summary>What one poll tick did, for the Debug summary and the metrics.</summary>
public sealed record TickSummary(int Sessions, int ParticipantLookups, int Transitions, bool LiveKitFailed);
