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
