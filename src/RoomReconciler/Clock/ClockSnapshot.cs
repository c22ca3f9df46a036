using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RoomReconciler.Clock;

/// <summary>The answer of GET /clock/{sessionId}: the keys of session_clock_get, times ISO-8601 UTC with milliseconds.</summary>
public sealed record ClockSnapshot(
    [property: JsonPropertyName("session_id")] Guid SessionId,
    [property: JsonPropertyName("started_at"), Description("null until the clock starts")] string? StartedAt,
    [property: JsonPropertyName("ended_at")] string? EndedAt,
    [property: JsonPropertyName("is_paused")] bool IsPaused,
    [property: JsonPropertyName("total_paused_ms")] long TotalPausedMs,
    [property: JsonPropertyName("last_state_change_at")] string? LastStateChangeAt,
    [property: JsonPropertyName("server_now"), Description("the database's clock when the answer was made")] string ServerNow,
    [property: JsonPropertyName("elapsed_ms"), Description("0 before the start, else end - started_at - total_paused_ms")] long ElapsedMs);

[JsonSerializable(typeof(ClockSnapshot))]
internal sealed partial class ClockJsonContext : JsonSerializerContext;
