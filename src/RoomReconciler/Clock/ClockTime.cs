using System.Globalization;
using System.Text.Json;

namespace RoomReconciler.Clock;

/// <summary>
/// The one representation of a moment in the clock code: Unix milliseconds (a <see cref="long"/>). The database
/// truncates every clock time to milliseconds, so integer arithmetic on them reproduces its elapsed_ms exactly, and
/// the wire format, ISO-8601 UTC with milliseconds as session_clock_iso writes it, is written and read here only.
/// </summary>
public static class ClockTime
{
    /// <summary>The wire format of every time the API answers.</summary>
    public const string IsoFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string Iso(long unixMs) =>
        DateTime.UnixEpoch.AddMilliseconds(unixMs).ToString(IsoFormat, CultureInfo.InvariantCulture);

    public static string? Iso(long? unixMs) => unixMs is { } ms ? Iso(ms) : null;

    /// <summary>A time as Npgsql reads a timestamptz (UTC), truncated to milliseconds.</summary>
    public static long UnixMs(DateTime utc) => (utc.ToUniversalTime().Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;

    public static long? UnixMs(DateTime? utc) => utc is { } t ? UnixMs(t) : null;

    /// <summary>A time of the clock as the reconciler's arithmetic takes it (it adds grace periods and caps as TimeSpans).</summary>
    public static DateTimeOffset? Moment(long? unixMs) => unixMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>A time written by session_clock_iso, or null for a JSON null.</summary>
    public static long? ParseIso(JsonElement value) => value.ValueKind == JsonValueKind.Null
        ? null
        : UnixMs(DateTime.ParseExact(value.GetString()!, IsoFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));
}
