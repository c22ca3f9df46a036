using System.Text.Json;
using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Timeline;

/// <summary>Reads one session's clock, events and presence in one statement, so all three come from one snapshot.</summary>
public sealed class TimelineStore(NpgsqlDataSource database)
{
    private const string Query = """
        SELECT session_clock_get($1)::text,
               (SELECT coalesce(jsonb_agg(jsonb_build_object(
                           'id', e.id, 'type', e.event_type, 'reason', e.reason,
                           'effective_at', roomreconciler.session_clock_iso(e.effective_at), 'created_at', roomreconciler.session_clock_iso(e.created_at),
                           'source', e.source, 'details', e.details) ORDER BY e.id), '[]'::jsonb)
                FROM roomreconciler.session_events e WHERE e.session_id = $1)::text,
               (SELECT jsonb_build_object(
                           'participants', to_jsonb(p.participants), 'below_since', roomreconciler.session_clock_iso(p.below_since),
                           'observed_at', roomreconciler.session_clock_iso(p.observed_at), 'source', p.source)
                FROM roomreconciler.session_presence p WHERE p.session_id = $1)::text
        """;

    /// <returns>null for an unknown session; else its clock, the database's now, its events and its presence row</returns>
    public async Task<(ClockState Clock, long ServerNow, IReadOnlyList<StoredEvent> Events, StoredPresence? Presence)?> LoadAsync(Guid sessionId, CancellationToken ct)
    {
        await using var command = database.CreateCommand(Query);
        command.Parameters.AddWithValue(sessionId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct) || reader.IsDBNull(0)) return null;
        using var clock = JsonDocument.Parse(reader.GetString(0));
        using var events = JsonDocument.Parse(reader.GetString(1));
        using var presence = reader.IsDBNull(2) ? null : JsonDocument.Parse(reader.GetString(2));
        return (ClockState.FromJson(clock.RootElement), ClockTime.ParseIso(clock.RootElement.GetProperty("server_now"))!.Value,
            events.RootElement.EnumerateArray().Select(ReadEvent).ToList(),
            presence is null ? null : ReadPresence(presence.RootElement));
    }

    private static StoredEvent ReadEvent(JsonElement e) => new(
        e.GetProperty("id").GetInt64(), EventNames.Transition(e.GetProperty("type").GetString()!),
        e.GetProperty("reason").ValueKind == JsonValueKind.String ? e.GetProperty("reason").GetString() : null,
        ClockTime.ParseIso(e.GetProperty("effective_at"))!.Value, ClockTime.ParseIso(e.GetProperty("created_at"))!.Value,
        EventNames.Source(e.GetProperty("source").GetString()!), e.GetProperty("details").Clone());

    private static StoredPresence ReadPresence(JsonElement p) => new(
        p.GetProperty("participants").EnumerateArray().Select(x => x.GetString()!).ToList(),
        ClockTime.ParseIso(p.GetProperty("below_since")), ClockTime.ParseIso(p.GetProperty("observed_at"))!.Value, EventNames.Source(p.GetProperty("source").GetString()!));
}
