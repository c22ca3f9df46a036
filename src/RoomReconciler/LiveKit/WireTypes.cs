using System.Text.Json.Serialization;

namespace RoomReconciler.LiveKit;

// The subset of LiveKit's protobuf messages (livekit_models.proto, livekit_webhook.proto) this project reads,
// as JSON DTOs. They are read with LiveKitJson.Options, which accepts what the server may send (docs/livekit.md
// §1, §2, §4): snake_case (Twirp responses) and lowerCamelCase (webhooks) names, int64 as strings or numbers,
// enums as names or numbers, null messages, omitted zero values and unknown fields. Property names below are the
// lowerCamelCase JSON names; the snake_case spelling is accepted as an alias.

/// <summary>A LiveKit room (docs/livekit.md §2). <see cref="NumParticipants"/> is stale by design; count ListParticipants.</summary>
public sealed record Room
{
    public string Sid { get; init; } = "";
    public string Name { get; init; } = "";
    /// <summary>Seconds the room stays open when nobody ever joined.</summary>
    public uint EmptyTimeout { get; init; }
    /// <summary>Seconds the room stays open after the last participant left.</summary>
    public uint DepartureTimeout { get; init; }
    public uint MaxParticipants { get; init; }
    /// <summary>Unix seconds.</summary>
    public long CreationTime { get; init; }
    /// <summary>Unix milliseconds; <see cref="CreationTime"/>×1000 where the server did not send it.</summary>
    public long CreationTimeMs { get => field != 0 ? field : CreationTime * 1000; init; }
    public string Metadata { get; init; } = "";
    public uint NumParticipants { get; init; }
    public uint NumPublishers { get; init; }
    public bool ActiveRecording { get; init; }
}

/// <summary>A participant as the server reports it (docs/livekit.md §2). Track presence by <see cref="Sid"/>.</summary>
public sealed record ParticipantInfo
{
    public string Sid { get; init; } = "";
    public string Identity { get; init; } = "";
    public string Name { get; init; } = "";
    public ParticipantState State { get; init; }
    public string Metadata { get; init; } = "";
    /// <summary>Unix seconds at which the participant object was created (the join request, not ICE connected).</summary>
    public long JoinedAt { get; init; }
    /// <summary>Unix milliseconds; <see cref="JoinedAt"/>×1000 where the server sent 0 or nothing (older servers, webhooks).</summary>
    public long JoinedAtMs { get => field != 0 ? field : JoinedAt * 1000; init; }
    public uint Version { get; init; }
    /// <summary>Null when the server sent null or nothing: treat as "not hidden".</summary>
    public ParticipantPermission? Permission { get; init; }
    public string Region { get; init; } = "";
    public bool IsPublisher { get; init; }
    public ParticipantKind Kind { get; init; }
    public DisconnectReason DisconnectReason { get; init; }

    [JsonIgnore] public bool IsHidden => Permission?.Hidden == true;
}

public sealed record ParticipantPermission
{
    public bool CanSubscribe { get; init; }
    public bool CanPublish { get; init; }
    public bool CanPublishData { get; init; }
    public bool Hidden { get; init; }
    /// <summary>Deprecated grant: LiveKit treats the holder as a recorder (egress), whatever its kind.</summary>
    public bool Recorder { get; init; }
    public bool CanUpdateMetadata { get; init; }
    /// <summary>Deprecated grant: LiveKit treats the holder as an agent, whatever its kind.</summary>
    public bool Agent { get; init; }
}

/// <summary>
/// Unknown names parse as <c>Unrecognized</c> (-1) and unknown numbers keep their value, so that an unknown
/// state or kind is never mistaken for the zero value (JOINING, STANDARD).
/// </summary>
public enum ParticipantState { Unrecognized = -1, Joining = 0, Joined = 1, Active = 2, Disconnected = 3 }

public enum ParticipantKind
{
    Unrecognized = -1, Standard = 0, Ingress = 1, Egress = 2, Sip = 3, Agent = 4, Connector = 7, Bridge = 8,
}

public enum DisconnectReason
{
    Unrecognized = -1, UnknownReason = 0, ClientInitiated = 1, DuplicateIdentity = 2, ServerShutdown = 3,
    ParticipantRemoved = 4, RoomDeleted = 5, StateMismatch = 6, JoinFailure = 7, Migration = 8, SignalClose = 9,
    RoomClosed = 10, UserUnavailable = 11, UserRejected = 12, SipTrunkFailure = 13, ConnectionTimeout = 14,
    MediaFailure = 15, AgentError = 16,
}

/// <summary>A webhook (docs/livekit.md §4). <see cref="Participant"/> holds only sid and identity on track_* events.</summary>
public sealed record WebhookEvent
{
    /// <summary>"EV_…"; the dedupe key.</summary>
    public string Id { get; init; } = "";
    /// <summary>room_started, room_finished, participant_joined, participant_left, participant_connection_aborted, track_*, …</summary>
    public string Event { get; init; } = "";
    public Room? Room { get; init; }
    public ParticipantInfo? Participant { get; init; }
    /// <summary>Unix seconds (1 s resolution).</summary>
    public long CreatedAt { get; init; }
}

/// <summary>The webhook event names this project acts on.</summary>
public static class WebhookEventNames
{
    public const string RoomFinished = "room_finished";
    public const string ParticipantJoined = "participant_joined";
    public const string ParticipantLeft = "participant_left";
    public const string ParticipantConnectionAborted = "participant_connection_aborted";
}

internal sealed record ListRoomsRequest([property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyCollection<string>? Names);
public sealed record ListRoomsResponse(IReadOnlyList<Room>? Rooms);
internal sealed record ListParticipantsRequest(string Room);
public sealed record ListParticipantsResponse(IReadOnlyList<ParticipantInfo>? Participants);
internal sealed record TwirpErrorBody(string? Code, string? Msg);
