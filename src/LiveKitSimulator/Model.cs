namespace LiveKitSimulator;

// C# names are PascalCase; ProtoNames.Of turns them into the proto enum names the wire carries (§2).
public enum ParticipantKind { Standard = 0, Ingress = 1, Egress = 2, Sip = 3, Agent = 4, Connector = 7, Bridge = 8 }

public enum ParticipantState { Joining = 0, Joined = 1, Active = 2, Disconnected = 3 }

public enum KindDetail { CloudAgent = 0, Forwarded = 1, ConnectorWhatsapp = 2, ConnectorTwilio = 3, BridgeRtsp = 4, Simulation = 5 }

public enum DisconnectReason
{
    UnknownReason = 0, ClientInitiated = 1, DuplicateIdentity = 2, ServerShutdown = 3, ParticipantRemoved = 4,
    RoomDeleted = 5, StateMismatch = 6, JoinFailure = 7, Migration = 8, SignalClose = 9, RoomClosed = 10,
    UserUnavailable = 11, UserRejected = 12, SipTrunkFailure = 13, ConnectionTimeout = 14, MediaFailure = 15, AgentError = 16,
}

/// <summary>A participant as the server would describe it at one moment (ParticipantInfo, §2).</summary>
public sealed record Participant(
    string Sid,
    string Identity,
    string Name,
    ParticipantKind Kind,
    ParticipantState State,
    bool Hidden,
    DateTimeOffset JoinedAt,
    string Metadata = "",
    bool IsPublisher = false,
    DisconnectReason DisconnectReason = DisconnectReason.UnknownReason,
    uint Version = 0)
{
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<KindDetail> KindDetails { get; init; } = [];

    /// <summary>Whether it ever reached ACTIVE: decides participant_left versus participant_connection_aborted (§4).</summary>
    public bool WasActive { get; init; }

    /// <summary>The deprecated video.agent grant: the server treats the holder as an agent whatever its kind (§8, IsAgent).</summary>
    public bool LegacyAgent { get; init; }

    /// <summary>The deprecated video.recorder grant: the server treats the holder as a recorder (§8, IsRecorder).</summary>
    public bool LegacyRecorder { get; init; }

    /// <summary>
    /// AGENT and EGRESS, and holders of the legacy agent or recorder grant, are "dependent": not counted in
    /// num_participants, and they do not keep a room open (§2, pkg/rtc/participant.go IsDependent).
    /// </summary>
    public bool IsDependent => IsDependentKind(Kind) || LegacyAgent || LegacyRecorder;

    public static bool IsDependentKind(ParticipantKind kind) => kind is ParticipantKind.Agent or ParticipantKind.Egress;
}

/// <summary>A room as ListRooms shows it (Room, §2); <see cref="NumParticipants"/> may be the stale cached value.</summary>
public sealed record Room(
    string Sid,
    string Name,
    TimeSpan EmptyTimeout,
    TimeSpan DepartureTimeout,
    uint MaxParticipants,
    DateTimeOffset CreatedAt,
    string Metadata,
    uint NumParticipants,
    uint NumPublishers,
    DateTimeOffset UpdatedAt);

/// <summary>Options of one join, as a client's token and connection would decide them.</summary>
public sealed record JoinOptions
{
    public ParticipantKind Kind { get; init; } = ParticipantKind.Standard;
    public bool Hidden { get; init; }

    /// <summary>The token carries the deprecated video.agent grant.</summary>
    public bool LegacyAgent { get; init; }

    /// <summary>The token carries the deprecated video.recorder grant.</summary>
    public bool LegacyRecorder { get; init; }

    /// <summary>True (the default) goes straight to ACTIVE and sends participant_joined; false stays JOINING until Activate.</summary>
    public bool Active { get; init; } = true;

    /// <summary>The token's name claim; empty when absent, as on the server.</summary>
    public string? Name { get; init; }
    public string Metadata { get; init; } = "";
    public bool IsPublisher { get; init; }
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }
}

public static class ProtoNames
{
    /// <summary>DuplicateIdentity → DUPLICATE_IDENTITY.</summary>
    public static string Of<T>(T value) where T : struct, Enum
    {
        var name = value.ToString();
        var builder = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i])) builder.Append('_');
            builder.Append(char.ToUpperInvariant(name[i]));
        }
        return builder.ToString();
    }

    /// <summary>Accepts the proto name, the C# name in any case, or the number, like protojson and more.</summary>
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        return Enum.TryParse(text.Replace("_", "", StringComparison.Ordinal), ignoreCase: true, out value)
            && Enum.IsDefined(value);
    }
}
