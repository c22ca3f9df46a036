using Npgsql;

namespace RoomReconciler.Database;

/// <summary>How many sessions the clock looks after, and how many it leaves alone.</summary>
public sealed record TrackedCounts(long Tracked, long TrackedOpen, long Untracked)
{
    public override string ToString() => $"{Tracked} tracked ({TrackedOpen} not ended), {Untracked} not tracked";
}

/// <summary>
/// What the clock tracks (sessions.clock_tracked, V006). Sessions that existed when RoomReconciler was installed
/// are not tracked: the clock changes nothing of them and LiveKit is never asked about them. Sessions created since
/// are tracked; so are the ones adopted because their room held participants. Operators see and change it here.
/// </summary>
public sealed class TrackedSessions(NpgsqlDataSource dataSource)
{
    public async Task<TrackedCounts> CountAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT count(*) FILTER (WHERE clock_tracked), count(*) FILTER (WHERE clock_tracked AND ended_at IS NULL),
                   count(*) FILTER (WHERE NOT clock_tracked)
            FROM sessions
            """);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new TrackedCounts(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>The untracked sessions that are not ended, newest start first: the ones an operator may want tracked.</summary>
    public async Task<IReadOnlyList<(Guid Id, DateTimeOffset? StartedAt)>> ListUntrackedOpenAsync(int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, started_at FROM sessions WHERE NOT clock_tracked AND ended_at IS NULL ORDER BY started_at DESC NULLS LAST, id LIMIT $1");
        command.Parameters.AddWithValue(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<(Guid, DateTimeOffset?)>();
        while (await reader.ReadAsync(ct))
            rows.Add((reader.GetGuid(0), reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero)));
        return rows;
    }

    /// <summary>Starts or stops tracking; the clock of each changed session is announced like any clock change.</summary>
    /// <returns>the ids that exist (whether or not they changed)</returns>
    public async Task<IReadOnlySet<Guid>> SetTrackedAsync(IReadOnlyCollection<Guid> ids, bool tracked, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            WITH changed AS (UPDATE sessions SET clock_tracked = $2 WHERE id = ANY($1) AND clock_tracked <> $2 RETURNING id)
            SELECT id FROM sessions WHERE id = ANY($1)
            """);
        command.Parameters.AddWithValue(ids.ToArray());
        command.Parameters.AddWithValue(tracked);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var found = new HashSet<Guid>();
        while (await reader.ReadAsync(ct)) found.Add(reader.GetGuid(0));
        return found;
    }
}
