using Npgsql;
using NpgsqlTypes;
using RoomReconciler.Clock;

namespace RoomReconciler.Events;

/// <summary>One claimed attempt: the head delivery of one (endpoint, session), leased to this replica.</summary>
/// <param name="Attempt">the attempt's number, 1 first; also the claim's fence: only this attempt may record its answer</param>
public sealed record DeliveryClaim(int EndpointId, Guid EventId, Guid SessionId, long Sequence, int Attempt, byte[] Payload);

/// <summary>A delivery as `events status` lists it.</summary>
/// <param name="CreatedAt">when the transition committed, Unix milliseconds (<see cref="Clock.ClockTime"/>)</param>
public sealed record DeliveryRow(int EndpointId, Guid EventId, Guid SessionId, long Sequence, string Type, int Attempts,
    long CreatedAt, int? LastStatus, string? LastError);

/// <summary>One endpoint's state: what waits for it and how old the oldest is.</summary>
/// <param name="DisabledAt">Unix milliseconds, as every time here (<see cref="Clock.ClockTime"/>)</param>
/// <param name="OldestUndelivered">the creation of the oldest event not acknowledged, dead ones included</param>
public sealed record EndpointStatus(int Id, string Url, bool Configured, long? DisabledAt, string? DisabledReason,
    long Backlog, long Dead, long? OldestUndelivered);

/// <summary>
/// The outbox's deliveries in PostgreSQL (db/migrations/V009). Every decision about who sends what is a row lock
/// and a lease in the database, never memory, so any number of replicas share the work and a killed one loses
/// nothing: its leases expire and the deliveries are claimed again.
/// </summary>
public sealed class OutboxStore(NpgsqlDataSource db)
{
    /// <summary>
    /// Makes event_endpoints what this configuration says: each endpoint by its number, a changed URL being a new
    /// endpoint (enabled again after a 410), and endpoints no longer configured kept (with their history) but idle.
    /// </summary>
    public async Task SyncEndpointsAsync(IReadOnlyList<EventEndpointOptions> endpoints, CancellationToken ct)
    {
        await using var command = db.CreateCommand("""
            WITH wanted AS (SELECT * FROM unnest($1::integer[], $2::text[]) AS w (id, url)),
            upserted AS (
                INSERT INTO roomreconciler.event_endpoints AS e (id, url) SELECT id, url FROM wanted
                ON CONFLICT (id) DO UPDATE SET url = excluded.url, configured = true,
                    disabled_at = CASE WHEN e.url = excluded.url THEN e.disabled_at END,
                    disabled_reason = CASE WHEN e.url = excluded.url THEN e.disabled_reason END
                RETURNING id)
            UPDATE roomreconciler.event_endpoints SET configured = false
            WHERE configured AND id NOT IN (SELECT id FROM wanted)
            """);
        command.Parameters.AddWithValue(Enumerable.Range(0, endpoints.Count).ToArray());
        command.Parameters.AddWithValue(endpoints.Select(e => e.Url!).ToArray());
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Claims up to <paramref name="limit"/> due heads: per (endpoint, session) its lowest unacknowledged delivery,
    /// if that one is not dead, is due, and is not leased. A dead head holds its session back until it is replayed,
    /// so order holds even then. SKIP LOCKED lets replicas claim side by side; the outer WHERE checks the row again
    /// as it is now, so a head that another replica claimed or acknowledged since this statement's snapshot is left.
    /// </summary>
    /// <summary>
    /// Per (endpoint, session) of an enabled endpoint numbered below $1 (those this replica has), its lowest
    /// unacknowledged delivery: the only one that may be attempted.
    /// </summary>
    private const string Heads = """
        heads AS (
            SELECT DISTINCT ON (d.endpoint_id, d.session_id) d.endpoint_id, d.event_id, d.dead_at, d.next_attempt_at, d.leased_until
            FROM roomreconciler.event_deliveries d
            JOIN roomreconciler.event_endpoints e ON e.id = d.endpoint_id AND e.configured AND e.disabled_at IS NULL
            WHERE d.acknowledged_at IS NULL AND d.endpoint_id < $1
            ORDER BY d.endpoint_id, d.session_id, d.sequence)
        """;

    /// <param name="endpoints">how many endpoints this replica has (0 to N-1): one configured with fewer leaves the rest to others</param>
    public async Task<IReadOnlyList<DeliveryClaim>> ClaimAsync(int limit, int endpoints, TimeSpan lease, CancellationToken ct)
    {
        await using var command = db.CreateCommand("WITH " + Heads + """
            ,
            due AS (
                SELECT endpoint_id, event_id FROM heads
                WHERE dead_at IS NULL AND next_attempt_at <= clock_timestamp()
                  AND (leased_until IS NULL OR leased_until < clock_timestamp())
                ORDER BY next_attempt_at LIMIT $2),
            locked AS (
                SELECT d.endpoint_id, d.event_id FROM roomreconciler.event_deliveries d JOIN due USING (endpoint_id, event_id)
                FOR UPDATE OF d SKIP LOCKED)
            UPDATE roomreconciler.event_deliveries d SET attempts = d.attempts + 1, leased_until = clock_timestamp() + $3
            FROM locked, roomreconciler.event_outbox o
            WHERE d.endpoint_id = locked.endpoint_id AND d.event_id = locked.event_id AND o.event_id = d.event_id
              AND d.acknowledged_at IS NULL AND d.dead_at IS NULL
              AND (d.leased_until IS NULL OR d.leased_until < clock_timestamp())
            RETURNING d.endpoint_id, d.event_id, d.session_id, d.sequence, d.attempts, o.payload
            """);
        command.Parameters.AddWithValue(endpoints);
        command.Parameters.AddWithValue(limit);
        command.Parameters.AddWithValue(lease);
        var claims = new List<DeliveryClaim>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            claims.Add(new(reader.GetInt32(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetInt64(3), reader.GetInt32(4),
                reader.GetFieldValue<byte[]>(5)));
        return claims;
    }

    /// <summary>A 2xx: delivered, and the session's next event becomes its head.</summary>
    public async Task AcknowledgeAsync(DeliveryClaim claim, int status, CancellationToken ct)
    {
        await using var command = ClaimCommand(claim, """
            UPDATE roomreconciler.event_deliveries SET acknowledged_at = clock_timestamp(), leased_until = NULL,
                last_status = $4, last_error = NULL
            WHERE endpoint_id = $1 AND event_id = $2 AND attempts = $3 AND acknowledged_at IS NULL
            """);
        command.Parameters.AddWithValue(status);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <param name="status">the answer's status; null when there was none (refused, reset, timed out)</param>
    /// <param name="retryAfter">when to try again; null when the schedule is spent and the event is dead</param>
    public async Task FailAsync(DeliveryClaim claim, int? status, string error, TimeSpan? retryAfter, CancellationToken ct)
    {
        await using var command = ClaimCommand(claim, """
            UPDATE roomreconciler.event_deliveries SET leased_until = NULL, last_status = $4, last_error = $5,
                next_attempt_at = CASE WHEN $6::interval IS NULL THEN next_attempt_at ELSE clock_timestamp() + $6::interval END,
                dead_at = CASE WHEN $6::interval IS NULL THEN clock_timestamp() END
            WHERE endpoint_id = $1 AND event_id = $2 AND attempts = $3 AND acknowledged_at IS NULL
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.AddWithValue(error);
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)retryAfter ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Interval });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// A 410: the endpoint is disabled for every replica, and the attempt is handed back uncounted, so the event is
    /// still there, first in line, if the endpoint is enabled again (`events replay`, or a new URL).
    /// </summary>
    public async Task DisableAsync(DeliveryClaim claim, string reason, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var disable = new NpgsqlCommand("""
            UPDATE roomreconciler.event_endpoints SET disabled_at = clock_timestamp(), disabled_reason = $2
            WHERE id = $1 AND disabled_at IS NULL
            """, connection, transaction))
        {
            disable.Parameters.AddWithValue(claim.EndpointId);
            disable.Parameters.AddWithValue(reason);
            await disable.ExecuteNonQueryAsync(ct);
        }
        await using (var release = ClaimCommand(claim, """
            UPDATE roomreconciler.event_deliveries SET leased_until = NULL, attempts = attempts - 1, last_status = 410, last_error = $4
            WHERE endpoint_id = $1 AND event_id = $2 AND attempts = $3 AND acknowledged_at IS NULL
            """, connection, transaction))
        {
            release.Parameters.AddWithValue(reason);
            await release.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
    }

    /// <summary>A statement about one claim, $1-$3 being its endpoint, event and attempt: the attempt fences it, so an
    /// answer that came after its lease ran out and another replica claimed the delivery again changes nothing.</summary>
    private NpgsqlCommand ClaimCommand(DeliveryClaim claim, string sql, NpgsqlConnection? connection = null, NpgsqlTransaction? transaction = null)
    {
        var command = connection is null ? db.CreateCommand(sql) : new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.AddWithValue(claim.EndpointId);
        command.Parameters.AddWithValue(claim.EventId);
        command.Parameters.AddWithValue(claim.Attempt);
        return command;
    }

    /// <summary>
    /// How long until a head may next be claimed (its retry's time, or the end of another replica's lease on it).
    /// Heads only: a later event of a session whose head waits for its retry is not due, however old it is.
    /// </summary>
    public async Task<TimeSpan?> NextDueAsync(int endpoints, CancellationToken ct)
    {
        await using var command = db.CreateCommand("WITH " + Heads + """
            SELECT greatest(min(greatest(next_attempt_at, coalesce(leased_until, next_attempt_at))) - clock_timestamp(), interval '0')
            FROM heads WHERE dead_at IS NULL
            """);
        command.Parameters.AddWithValue(endpoints);
        return await command.ExecuteScalarAsync(ct) is TimeSpan wait ? wait : null;
    }

    public async Task<IReadOnlyList<EndpointStatus>> StatusAsync(CancellationToken ct)
    {
        await using var command = db.CreateCommand("""
            SELECT e.id, e.url, e.configured, e.disabled_at, e.disabled_reason,
                   count(d.event_id) FILTER (WHERE d.dead_at IS NULL), count(d.event_id) FILTER (WHERE d.dead_at IS NOT NULL),
                   min(o.created_at)
            FROM roomreconciler.event_endpoints e
            LEFT JOIN roomreconciler.event_deliveries d ON d.endpoint_id = e.id AND d.acknowledged_at IS NULL
            LEFT JOIN roomreconciler.event_outbox o ON o.event_id = d.event_id
            GROUP BY e.id ORDER BY e.id
            """);
        var rows = new List<EndpointStatus>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new(reader.GetInt32(0), reader.GetString(1), reader.GetBoolean(2), ClockTime.UnixMs(reader.IsDBNull(3) ? null : reader.GetDateTime(3)),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5), reader.GetInt64(6),
                ClockTime.UnixMs(reader.IsDBNull(7) ? null : reader.GetDateTime(7))));
        return rows;
    }

    /// <summary>The dead deliveries, oldest first.</summary>
    public async Task<IReadOnlyList<DeliveryRow>> DeadAsync(int limit, CancellationToken ct)
    {
        await using var command = db.CreateCommand("""
            SELECT d.endpoint_id, d.event_id, d.session_id, d.sequence, o.event_type, d.attempts, o.created_at, d.last_status, d.last_error
            FROM roomreconciler.event_deliveries d JOIN roomreconciler.event_outbox o USING (event_id)
            WHERE d.acknowledged_at IS NULL AND d.dead_at IS NOT NULL
            ORDER BY o.created_at, d.endpoint_id LIMIT $1
            """);
        command.Parameters.AddWithValue(limit);
        var rows = new List<DeliveryRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new(reader.GetInt32(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetInt64(3), reader.GetString(4), reader.GetInt32(5),
                ClockTime.UnixMs(reader.GetDateTime(6)), reader.IsDBNull(7) ? null : reader.GetInt32(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        return rows;
    }

    /// <summary>
    /// Makes an endpoint's deliveries of the events since a time (their creation) or since a sequence (that
    /// sequence and later, of every session) due now with a fresh schedule: dead ones come back, acknowledged ones
    /// are sent again (with the same webhook-id, which a receiver deduplicates on). A disabled endpoint is enabled.
    /// </summary>
    /// <returns>the deliveries made due; null when there is no such endpoint</returns>
    public async Task<int?> ReplayAsync(int endpointId, DateTime? sinceTime, long? sinceSequence, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var enable = new NpgsqlCommand(
            "UPDATE roomreconciler.event_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE id = $1", connection, transaction))
        {
            enable.Parameters.AddWithValue(endpointId);
            if (await enable.ExecuteNonQueryAsync(ct) == 0) return null;
        }
        await using var replay = new NpgsqlCommand("""
            UPDATE roomreconciler.event_deliveries d SET acknowledged_at = NULL, dead_at = NULL, attempts = 0, leased_until = NULL,
                next_attempt_at = clock_timestamp()
            FROM roomreconciler.event_outbox o
            WHERE o.event_id = d.event_id AND d.endpoint_id = $1
              AND (o.created_at >= $2 OR $2 IS NULL) AND (d.sequence >= $3 OR $3 IS NULL)
            """, connection, transaction);
        replay.Parameters.AddWithValue(endpointId);
        replay.Parameters.Add(new NpgsqlParameter { Value = (object?)sinceTime ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        replay.Parameters.Add(new NpgsqlParameter { Value = (object?)sinceSequence ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        var count = await replay.ExecuteNonQueryAsync(ct);
        await using (var notify = new NpgsqlCommand("SELECT pg_notify('roomreconciler_events', '')", connection, transaction))
            await notify.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
        return count;
    }
}
