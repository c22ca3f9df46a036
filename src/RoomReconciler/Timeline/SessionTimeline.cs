using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

/// <summary>
/// The answer of GET /sessions/{id}/timeline: everything that explains a session's bill, derived from
/// <c>session_events</c>, <c>session_presence</c> and the clock columns, as of one database snapshot.
/// Times are the database's, ISO-8601 UTC with milliseconds. The records after it are its parts, in this one file
/// because they exist only as parts of this document.
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

/// <summary>One row of session_events.</summary>
public sealed record TimelineEvent(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("effective_at")] string EffectiveAt,
    [property: JsonPropertyName("created_at")] string CreatedAt,
    [property: JsonPropertyName("lag_ms"), Description("created_at - effective_at: how late the transition was written")] long LagMs,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("details")] JsonElement Details);

/// <summary>A stretch of the clock running or paused; <c>open</c> when it lasts until now (<c>to</c> is then server_now).</summary>
public sealed record TimelineInterval(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("ms")] long Ms,
    [property: JsonPropertyName("open")] bool Open,
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null,
    [property: JsonPropertyName("source"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Source = null,
    [property: JsonPropertyName("end_reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EndReason = null);

/// <summary>
/// A time when too few participants were there but the clock still ran: from the drop to the pause
/// (<c>outcome</c> "paused"), or a grace still counting down now ("pending"; <c>to</c> is when it will pause).
/// </summary>
public sealed record GracePeriod(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("ms")] long Ms,
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("present"), Description("the counted identities that stayed")] IReadOnlyList<string> Present);

public sealed record ParticipantPresence(
    [property: JsonPropertyName("identity")] string Identity,
    [property: JsonPropertyName("intervals")] IReadOnlyList<PresenceInterval> Intervals);

/// <summary>When an identity was counted in the room, as far as the recorded transitions and the presence row tell.</summary>
public sealed record PresenceInterval(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("open")] bool Open);

/// <summary>The session_presence row: the reconciler's last look at the room.</summary>
public sealed record PresenceRow(
    [property: JsonPropertyName("participants")] IReadOnlyList<string> Participants,
    [property: JsonPropertyName("below_since")] string? BelowSince,
    [property: JsonPropertyName("observed_at")] string ObservedAt,
    [property: JsonPropertyName("source")] string Source);

[JsonSerializable(typeof(SessionTimeline))]
internal sealed partial class TimelineJsonContext : JsonSerializerContext;
