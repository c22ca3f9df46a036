using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using RoomReconciler.Clock;

namespace RoomReconciler.Reconciliation;

/// <summary>Reads sessions to reconcile and applies decisions, each in one round trip and in database time.</summary>
public sealed class SessionStore(NpgsqlDataSource dataSource)
{
    private const string Select = """
        SELECT s.id, s.started_at, s.is_paused, s.last_state_change_at, s.xmin::text,
               p.participants, p.below_since, p.observed_at, p.xmin::text, p.room_sid, p.room_num_participants,
               (SELECT date_trunc('milliseconds', clock_timestamp())), s.total_paused_ms
        FROM sessions s LEFT JOIN roomreconciler.session_presence p ON p.session_id = s.id
        WHERE s.clock_tracked AND s.ended_at IS NULL
        """;

    /// <summary>Every tracked session that is not ended (the partial index sessions_clock_tracked_open_idx): never the history.</summary>
    public Task<(IReadOnlyList<SessionReading> Sessions, DatabaseTime Clock)> LoadAsync(CancellationToken ct) =>
        LoadAsync(Select, null, ct);

    /// <summary>One session, if it is tracked and not ended.</summary>
    public Task<(IReadOnlyList<SessionReading> Sessions, DatabaseTime Clock)> LoadAsync(Guid sessionId, CancellationToken ct) =>
        LoadAsync(Select + " AND s.id = $1", sessionId, ct);

    private async Task<(IReadOnlyList<SessionReading>, DatabaseTime)> LoadAsync(string sql, Guid? id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(sql);
        if (id is { } sessionId) command.Parameters.AddWithValue(sessionId);
        var sent = Stopwatch.GetTimestamp();
        await using var reader = await command.ExecuteReaderAsync(ct);
        var sessions = new List<SessionReading>();
        DatabaseTime? clock = null;
        while (await reader.ReadAsync(ct))
        {
            clock ??= new DatabaseTime(Time(reader, 11)!.Value, sent);
            // ended_at is not read: only sessions that have not ended are loaded.
            var clockState = new ClockState(reader.GetGuid(0), UnixMs(reader, 1), EndedAt: null, reader.GetBoolean(2),
                reader.GetInt64(12), UnixMs(reader, 3));
            var stored = new StoredSession(clockState,
                reader.IsDBNull(5) ? [] : reader.GetFieldValue<string[]>(5), Time(reader, 6), Time(reader, 7));
            sessions.Add(new SessionReading(stored, reader.GetString(4),
                Text(reader, 8), Text(reader, 9),
                reader.IsDBNull(10) ? null : reader.GetInt32(10)));
        }
        return (sessions, clock ?? await NowAsync(ct));
    }

    /// <summary>
    /// Adoption of calls live at the cutover: the untracked, not ended sessions whose rooms LiveKit lists with
    /// participants become tracked, so the next load reconciles them. One query over the listed names only: the
    /// history never reaches LiveKit; no query at all while every such room's session is among those
    /// <paramref name="loaded"/>. Returns how many were adopted.
    /// </summary>
    public async Task<int> AdoptLiveAsync(IEnumerable<ListedRoom> listed, IReadOnlyList<SessionReading> loaded, ReconcilerOptions settings, CancellationToken ct)
    {
        var known = loaded.Select(r => r.Session.Id).ToHashSet();
        var names = settings.Rooms();
        var ids = listed.Where(r => r.NumParticipants > 0).Select(r => names.SessionOf(r.Name))
            .OfType<Guid>().Where(id => !known.Contains(id)).Distinct().ToArray();
        if (ids.Length == 0) return 0;
        await using var command = dataSource.CreateCommand(
            "UPDATE sessions SET clock_tracked = true WHERE id = ANY($1) AND NOT clock_tracked AND ended_at IS NULL");
        command.Parameters.AddWithValue(ids);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private async Task<DatabaseTime> NowAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT date_trunc('milliseconds', clock_timestamp())");
        var sent = Stopwatch.GetTimestamp();
        var now = (DateTime)(await command.ExecuteScalarAsync(ct))!;
        return new DatabaseTime(new DateTimeOffset(now, TimeSpan.Zero), sent);
    }

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(reader.GetDateTime(ordinal), TimeSpan.Zero);

    private static long? UnixMs(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ClockTime.UnixMs(reader.GetDateTime(ordinal));

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    /// <summary>Applies the decisions that have work, all in one statement; returns what each action did.</summary>
    public async Task<IReadOnlyList<AppliedTransition>> ApplyAsync(IEnumerable<PendingDecision> decisions, ClockSource source, CancellationToken ct)
    {
        var batch = new JsonArray();
        foreach (var d in decisions.Where(d => d.HasWork)) batch.Add(ToJson(d));
        if (batch.Count == 0) return [];

        await using var command = dataSource.CreateCommand(
            """
            SELECT session_id, outcome, error, event_type, reason, effective_at, created_at
            FROM roomreconciler.session_reconcile_apply($1::jsonb, $2)
            """);
        command.Parameters.AddWithValue(batch.ToJsonString());
        command.Parameters.AddWithValue(EventNames.Of(source));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var applied = new List<AppliedTransition>();
        while (await reader.ReadAsync(ct))
            applied.Add(new AppliedTransition(reader.GetGuid(0), EventNames.Outcome(reader.GetString(1)),
                Text(reader, 3) is { } transition ? EventNames.Transition(transition) : null, Text(reader, 4), Text(reader, 2),
                Time(reader, 5), Time(reader, 6)));
        return applied;
    }

    private static JsonObject ToJson(PendingDecision pending)
    {
        var (reading, decision) = (pending.Reading, pending.Decision);
        var json = new JsonObject
        {
            ["session_id"] = reading.Session.Id,
            ["version"] = reading.Version,
            ["presence_version"] = reading.PresenceVersion,
            ["actions"] = new JsonArray(decision.Actions.Select(a => (JsonNode)new JsonObject
            {
                ["event"] = EventNames.Of(a.Transition),
                ["at"] = a.EffectiveAt.UtcDateTime,
                ["reason"] = a.Reason,
                ["details"] = pending.Details?.DeepClone(),
            }).ToArray()),
        };
        if (decision.Presence is { } presence)
            json["presence"] = new JsonObject
            {
                ["participants"] = new JsonArray(presence.Participants.Select(p => (JsonNode)p).ToArray()),
                ["below_since"] = presence.BelowSince?.UtcDateTime,
            };
        if (pending.RoomChanged)
            json["room"] = new JsonObject { ["sid"] = pending.RoomSid, ["num_participants"] = pending.RoomNumParticipants };
        return json;
    }
}

/// <summary>A session as read for reconciling, with the row versions its decision must be applied against.</summary>
public sealed record SessionReading(StoredSession Session, string Version, string? PresenceVersion, string? RoomSid, int? RoomNumParticipants);

/// <summary>
/// A session as the reconciler reads it, in one query with the database's now: its clock (the one clock type of
/// the API and the timeline too) and its presence, the reconciler's own columns.
/// </summary>
public sealed record StoredSession(
    ClockState Clock,
    IReadOnlyList<string> Participants,
    DateTimeOffset? BelowSince,
    DateTimeOffset? ObservedAt)
{
    public Guid Id => Clock.SessionId;

    public DateTimeOffset? StartedAt => ClockTime.Moment(Clock.StartedAt);

    public DateTimeOffset? LastStateChangeAt => ClockTime.Moment(Clock.LastStateChangeAt);

    public TimeSpan TotalPaused => TimeSpan.FromMilliseconds(Clock.TotalPausedMs);
}

/// <summary>
/// The database's clock: its now when read, moved on by this process's monotonic clock, in whole milliseconds like
/// every time the database stores. The monotonic clock counts from when the query was sent, not from when its row came
/// back: the database read its now in between, so this is never behind its clock (it may be ahead by the send time).
/// Behind could date a drop that a reconcile noticed before it happened (a freshly started daemon spends tens
/// of milliseconds compiling between the two); ahead is harmless, since the database caps every effective time at its now.
/// </summary>
/// <param name="ReadTimestamp">the <see cref="Stopwatch"/> timestamp taken just before the query that read <paramref name="ReadAt"/> was sent</param>
public sealed record DatabaseTime(DateTimeOffset ReadAt, long ReadTimestamp)
{
    public DateTimeOffset Now
    {
        get
        {
            var now = ReadAt + Stopwatch.GetElapsedTime(ReadTimestamp);
            return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
        }
    }
}

/// <summary>What applying one action did: a row of session_reconcile_apply, mapped once by <see cref="SessionStore"/>.</summary>
/// <param name="Transition">the action's transition; null only for a <see cref="ApplyOutcome.Stale"/> decision, which applied none</param>
/// <param name="Reason">the action's reason, as the event log records it</param>
/// <param name="Error">why a <see cref="ApplyOutcome.Rejected"/> transition was refused</param>
/// <param name="EffectiveAt">when a changed clock changed (database time)</param>
/// <param name="CreatedAt">when its event was written (database time)</param>
public sealed record AppliedTransition(Guid SessionId, ApplyOutcome Outcome, ClockTransition? Transition, string? Reason, string? Error,
    DateTimeOffset? EffectiveAt, DateTimeOffset? CreatedAt);

/// <summary>What session_reconcile_apply did with one action of a decision (its outcome column).</summary>
public enum ApplyOutcome
{
    /// <summary>The clock changed and an event was logged.</summary>
    Changed,
    /// <summary>The clock already was so (a pause of a paused clock): nothing written.</summary>
    Unchanged,
    /// <summary>The session or its presence changed since it was read: nothing of the decision was written.</summary>
    Stale,
    /// <summary>The transition is not allowed (the session ended, is not tracked, ...): the error column says why.</summary>
    Rejected,
}

/// <summary>A change of a session's clock; stored as session_events.event_type (<see cref="EventNames"/>).</summary>
public enum ClockTransition { Started, Paused, Resumed, Ended }

/// <summary>What made a transition happen; stored as session_events.source (<see cref="EventNames"/>).</summary>
public enum ClockSource
{
    /// <summary>The poll tick, or a recheck a poll scheduled.</summary>
    Poll,
    /// <summary>A LiveKit webhook, or a recheck its reconcile scheduled.</summary>
    Webhook,
    /// <summary>The application, through session_clock_pause/resume/start/end.</summary>
    Api,
}

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
