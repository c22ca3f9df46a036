using System.Text.Json;

namespace RoomReconciler.Clock;

/// <summary>
/// The clock columns of one session, as the database committed them. Times are Unix milliseconds: the
/// database truncates every clock time to milliseconds, so integer arithmetic reproduces its elapsed_ms exactly.
/// </summary>
public sealed record ClockState(Guid SessionId, long? StartedAt, long? EndedAt, bool IsPaused, long TotalPausedMs, long? LastStateChangeAt)
{
    /// <summary>elapsed_ms as session_clock_snapshot computes it, at the database time <paramref name="now"/>.</summary>
    public long ElapsedMs(long now)
    {
        if (StartedAt is not { } started) return 0;
        var end = IsPaused ? LastStateChangeAt ?? now : EndedAt ?? now;
        return Math.Max(0, end - started - TotalPausedMs);
    }

    /// <summary>
    /// The latest committed moment of this clock. The database's clock is past it (each time was read from
    /// clock_timestamp() before its commit), so an estimate of the database's now is never allowed below it.
    /// </summary>
    public long Floor => Math.Max(StartedAt ?? 0, Math.Max(EndedAt ?? 0, LastStateChangeAt ?? 0));

    // Formatted once per state rather than once per request; derived from the parameters, so equality is unchanged.
    private string? StartedIso { get; } = ClockTime.Iso(StartedAt);
    private string? EndedIso { get; } = ClockTime.Iso(EndedAt);
    private string? LastStateChangeIso { get; } = ClockTime.Iso(LastStateChangeAt);

    public ClockSnapshot ToSnapshot(long now)
    {
        now = Math.Max(now, Floor);
        return new ClockSnapshot(SessionId, StartedIso, EndedIso, IsPaused, TotalPausedMs, LastStateChangeIso, ClockTime.Iso(now), ElapsedMs(now));
    }

    /// <summary>The clock keys of session_clock_get, or of a session_clock notification, as the database writes them.</summary>
    public static ClockState FromJson(JsonElement clock) => new(
        clock.GetProperty("session_id").GetGuid(), ClockTime.ParseIso(clock.GetProperty("started_at")), ClockTime.ParseIso(clock.GetProperty("ended_at")),
        clock.GetProperty("is_paused").GetBoolean(), clock.GetProperty("total_paused_ms").GetInt64(),
        ClockTime.ParseIso(clock.GetProperty("last_state_change_at")));

    /// <summary>
    /// Reads a session_clock notification: the clock state, or a deletion (state null). False for a payload
    /// that does not have that shape, which the caller must treat as "something changed, I don't know what".
    /// </summary>
    public static bool TryParseNotification(string payload, out Guid sessionId, out ClockState? state)
    {
        sessionId = Guid.Empty;
        state = null;
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("session_id", out var id) || !id.TryGetGuid(out sessionId)) return false;
            if (root.TryGetProperty("deleted", out var deleted) && deleted.ValueKind == JsonValueKind.True) return true;
            state = FromJson(root);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            return false;
        }
    }
}
