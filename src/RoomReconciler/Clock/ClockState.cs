using System.Globalization;
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
    private string? StartedIso { get; } = Iso(StartedAt);
    private string? EndedIso { get; } = Iso(EndedAt);
    private string? LastStateChangeIso { get; } = Iso(LastStateChangeAt);

    public ClockSnapshot ToSnapshot(long now)
    {
        now = Math.Max(now, Floor);
        return new ClockSnapshot(SessionId, StartedIso, EndedIso, IsPaused, TotalPausedMs, LastStateChangeIso, Iso(now)!, ElapsedMs(now));
    }

    /// <summary>The wire format of every time the API answers: ISO-8601 UTC with milliseconds, as session_clock_iso writes it.</summary>
    public const string IsoFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>ISO-8601 UTC with milliseconds, as session_clock_iso writes it.</summary>
    public static string? Iso(long? unixMs) => unixMs is { } ms
        ? DateTime.UnixEpoch.AddMilliseconds(ms).ToString(IsoFormat, CultureInfo.InvariantCulture)
        : null;

    public static long? UnixMs(DateTime? utc) => utc is { } t ? (t.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond : null;

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
            state = new ClockState(sessionId, Time(root, "started_at"), Time(root, "ended_at"),
                root.GetProperty("is_paused").GetBoolean(), root.GetProperty("total_paused_ms").GetInt64(), Time(root, "last_state_change_at"));
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            return false;
        }
    }

    private static long? Time(JsonElement root, string name) => root.GetProperty(name) switch
    {
        { ValueKind: JsonValueKind.Null } => null,
        var value => UnixMs(DateTime.ParseExact(value.GetString()!, IsoFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)),
    };
}

/// <summary>
/// What the cache knows about one id: its clock, or that no such session exists (State null). Version orders
/// what the listener has seen: a notification takes the next number, a load from the database the number
/// current when its query started, so the higher version is never the older view for long (see README.md).
/// </summary>
public sealed record ClockEntry(Guid SessionId, ClockState? State, long Version)
{
    /// <summary>
    /// The stream event last rendered from this entry, with the millisecond it shows as server_now: the
    /// subscribers of a session all send the same entry within a few milliseconds, so most reuse the bytes.
    /// </summary>
    internal RenderedEvent? LastEvent { get; set; }
}

internal sealed record RenderedEvent(long ServerNow, byte[] Bytes);
