using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

/// <summary>
/// The answer of GET /sessions/{id}/timeline: everything that explains a session's bill, derived from
/// <c>session_events</c>, <c>session_presence</c> and the clock columns, as of one database snapshot.
/// Times are the database's, ISO-8601 UTC with milliseconds.
/// </summary>
public sealed record SessionTimeline(
    [property: JsonPropertyName("session_id")] Guid SessionId,
    [property: JsonPropertyName("room")] string Room,
    [property: JsonPropertyName("server_now")] string ServerNow,
    [property: JsonPropertyName("started_at")] string? StartedAt,
    [property: JsonPropertyName("ended_at")] string? EndedAt,
    [property: JsonPropertyName("is_paused")] bool IsPaused,
    [property: JsonPropertyName("total_paused_ms")] long TotalPausedMs,
    [property: JsonPropertyName("billed_ms"), Description("elapsed_ms of the clock as of billed_until")] long BilledMs,
    [property: JsonPropertyName("billed_until"), Description("ended_at, or server_now for a session that has not ended; null before the start")] string? BilledUntil,
    [property: JsonPropertyName("grace_period_ms"), Description("Reconciler:GracePeriod as configured now")] long GracePeriodMs,
    [property: JsonPropertyName("min_participants")] int MinParticipants,
    [property: JsonPropertyName("consistent"), Description("the intervals derived from the events add up to billed_ms and total_paused_ms")] bool Consistent,
    [property: JsonPropertyName("events")] IReadOnlyList<TimelineEvent> Events,
    [property: JsonPropertyName("running_intervals")] IReadOnlyList<TimelineInterval> RunningIntervals,
    [property: JsonPropertyName("paused_intervals")] IReadOnlyList<TimelineInterval> PausedIntervals,
    [property: JsonPropertyName("grace_periods")] IReadOnlyList<GracePeriod> GracePeriods,
    [property: JsonPropertyName("participants")] IReadOnlyList<ParticipantPresence> Participants,
    [property: JsonPropertyName("presence")] PresenceRow? Presence);
