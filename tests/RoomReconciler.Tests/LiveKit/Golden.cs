namespace RoomReconciler.Tests.LiveKit;

/// <summary>
/// Bodies as LiveKit sends them (docs/livekit.md): Twirp responses are snake_case with every field present,
/// int64 as strings, enums as names, null for unset messages, and a random space after some commas (detrand);
/// webhooks are lowerCamelCase with zero values omitted.
/// </summary>
public static class Golden
{
    /// <summary>§1: the ListRooms body quoted in livekit/livekit#2065, every Room field of §2 filled in.</summary>
    public const string ListRoomsSnake = """
        {"rooms":[{"sid":"RM_t7Hsu8aHbUvG","name":"session-1","empty_timeout":300,"departure_timeout":20, "max_participants":0,
        "creation_time":"1694522628","creation_time_ms":"1694522628345","turn_password":"","enabled_codecs":[{"mime":"audio/opus","fmtp_line":""},
        {"mime":"video/VP8", "fmtp_line":""}],"metadata":"","num_participants":2,"num_publishers":1,"active_recording":false,
        "version":{"unix_micro":"1694522628345678","ticks":0}}]}
        """;

    /// <summary>The same room as protojson with JSON names and numbers for int64, zero values omitted, version null.</summary>
    public const string ListRoomsCamel = """
        {"rooms":[{"sid":"RM_t7Hsu8aHbUvG","name":"session-1","emptyTimeout":300,"departureTimeout":20,
        "creationTime":1694522628,"numParticipants":2,"numPublishers":1,"version":null}]}
        """;

    /// <summary>Every ParticipantInfo field of §2, as a Twirp response writes them.</summary>
    public const string CustomerSnake = """
        {"sid":"PA_customer","identity":"customer","name":"Customer","state":"ACTIVE","tracks":[],"metadata":"{\"role\":\"customer\"}",
        "joined_at":"1694522630","joined_at_ms":"1694522630456","version":7,
        "permission":{"can_subscribe":true,"can_publish":true,"can_publish_data":true,"can_publish_sources":[],"hidden":false,
        "recorder":false,"can_update_metadata":false,"agent":false,"can_subscribe_metrics":false,"can_manage_agent_session":false},
        "region":"eu","is_publisher":true,"kind":"STANDARD","attributes":{},"disconnect_reason":"UNKNOWN_REASON","kind_details":[],
        "data_tracks":[],"client_protocol":0,"capabilities":[]}
        """;

    /// <summary>A hidden egress recorder, and a participant of a kind and state this client does not know, as numbers.</summary>
    public const string ListParticipantsSnake = """
        {"participants":[
        """ + CustomerSnake + """
        ,{"sid":"PA_recorder","identity":"recorder","name":"","state":"JOINED","tracks":[],"metadata":"","joined_at":"1694522640",
        "joined_at_ms":"0","version":1,"permission":{"can_subscribe":true,"can_publish":false,"can_publish_data":false,
        "can_publish_sources":[],"hidden":true,"recorder":true,"can_update_metadata":false,"agent":false,
        "can_subscribe_metrics":false,"can_manage_agent_session":false},"region":"","is_publisher":false,"kind":"EGRESS",
        "attributes":{"k":"v"},"disconnect_reason":"UNKNOWN_REASON","kind_details":[],"data_tracks":[],"client_protocol":0,"capabilities":[]}
        ,{"sid":"PA_future","identity":"future","state":9,"kind":99,"joined_at":1694522650,"permission":null,
        "disconnect_reason":42,"some_field_from_2030":{"nested":[1,2,3]}}
        ]}
        """;

    /// <summary>§4: a webhook body, camelCase, zero values omitted (no kind for STANDARD, no state for JOINING, no joinedAtMs).</summary>
    public const string ParticipantJoinedWebhook = """
        {"event":"participant_joined","room":{"sid":"RM_t7Hsu8aHbUvG","name":"session-1","emptyTimeout":300,"departureTimeout":20,
        "creationTime":"1771351900","creationTimeMs":"1771351900123","enabledCodecs":[{"mime":"audio/opus"}]},
        "participant":{"sid":"PA_mechanic","identity":"mechanic","joinedAt":"1771351905","permission":{"canSubscribe":true,
        "canPublish":true,"canPublishData":true},"isPublisher":true,"attributes":{"x":"y"}},
        "id":"EV_aB3dE5fG7hJ9","createdAt":"1771351907","numDropped":0}
        """;
}
