using System.Text.Json;
using Npgsql;

namespace RoomReconciler.Tests.Support;

/// <summary>A migrated test database and the clock functions called as the application would call them.</summary>
public sealed class ClockDatabase(string connectionString) : IAsyncDisposable
{
    public string ConnectionString { get; } = connectionString;
    public NpgsqlDataSource DataSource { get; } = NpgsqlDataSource.Create(connectionString);

    public static async Task<ClockDatabase> CreateAsync() => new(await TestDatabase.CreateMigratedAsync());

    public async Task<Guid> NewSessionAsync()
    {
        var id = Guid.NewGuid();
        await using var command = DataSource.CreateCommand("INSERT INTO sessions (id) VALUES ($1)");
        command.Parameters.AddWithValue(id);
        await command.ExecuteNonQueryAsync();
        return id;
    }

    /// <summary>The database's clock now, the only clock that times are compared with.</summary>
    public async Task<DateTime> NowAsync()
    {
        await using var command = DataSource.CreateCommand("SELECT date_trunc('milliseconds', clock_timestamp())");
        return (DateTime)(await command.ExecuteScalarAsync())!;
    }

    public Task<JsonElement> GetAsync(Guid session) => CallAsync("session_clock_get($1)", session);

    /// <summary>Calls session_clock_{pause,resume,start,end}(id, reason, at).</summary>
    public Task<JsonElement> TransitionAsync(string function, Guid session, DateTime? at, string reason = "test") =>
        CallAsync($"session_clock_{function}($1, $2, $3)", session, reason, at.HasValue ? at.Value : DBNull.Value);

    public async Task<JsonElement> CallAsync(string call, params object[] args)
    {
        await using var command = DataSource.CreateCommand($"SELECT {call}::text");
        foreach (var a in args)
            command.Parameters.Add(a is DBNull ? new NpgsqlParameter { Value = a, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz } : new NpgsqlParameter { Value = a });
        var text = await command.ExecuteScalarAsync();
        return text is string json ? JsonDocument.Parse(json).RootElement.Clone() : default;
    }

    public async Task<List<(string Type, DateTime EffectiveAt, string Source)>> EventsAsync(Guid session)
    {
        await using var command = DataSource.CreateCommand(
            "SELECT event_type, effective_at, source FROM roomreconciler.session_events WHERE session_id = $1 ORDER BY id");
        command.Parameters.AddWithValue(session);
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<(string, DateTime, string)>();
        while (await reader.ReadAsync()) events.Add((reader.GetString(0), reader.GetDateTime(1), reader.GetString(2)));
        return events;
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}

public static class ClockJson
{
    public static long Elapsed(this JsonElement clock) => clock.GetProperty("elapsed_ms").GetInt64();
    public static bool Paused(this JsonElement clock) => clock.GetProperty("is_paused").GetBoolean();
    public static long TotalPaused(this JsonElement clock) => clock.GetProperty("total_paused_ms").GetInt64();
    public static DateTime? Time(this JsonElement clock, string key) =>
        clock.GetProperty(key).ValueKind == JsonValueKind.Null ? null : clock.GetProperty(key).GetDateTime().ToUniversalTime();
    public static bool Changed(this JsonElement result) => result.GetProperty("changed").GetBoolean();
    public static bool Success(this JsonElement result) => result.GetProperty("success").GetBoolean();
    public static JsonElement Clock(this JsonElement result) => result.GetProperty("clock");
}
