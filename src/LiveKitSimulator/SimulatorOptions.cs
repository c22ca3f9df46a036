namespace LiveKitSimulator;

/// <summary>Configuration section "Simulator". Defaults are the LiveKit dev server's.</summary>
public sealed class SimulatorOptions
{
    public const string Section = "Simulator";

    public string ApiKey { get; set; } = "devkey";
    public string ApiSecret { get; set; } = "secret";

    /// <summary>Where signed webhooks are posted; none when null.</summary>
    public string? WebhookUrl { get; set; }

    public bool WebhooksEnabled { get; set; } = true;

    /// <summary>How long a room nobody joined stays open (server default 300 s).</summary>
    public TimeSpan EmptyTimeout { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>How long a room stays open after its last non-dependent participant left (server default 20 s).</summary>
    public TimeSpan DepartureTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Refresh interval of the cached num_participants (the server's is 5 s); zero keeps it exact.</summary>
    public TimeSpan NumParticipantsRefresh { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// ListParticipants goes over psrpc to the node hosting the room, as with api.enable_psrpc_for_get_list_participants:
    /// a room that no live node hosts (unknown, closed, or left behind by a dead node) answers 503 unavailable (§1).
    /// </summary>
    public bool PsrpcListParticipants { get; set; }

    /// <summary>A participant that has not reached ACTIVE this long after joining is removed (the server's is about 60 s, §8).</summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a participant whose network vanished stays ACTIVE before it is removed with CONNECTION_TIMEOUT:
    /// ICE disconnected 10 s, failed 5 s later, then a 5 s timer (§8).
    /// </summary>
    public TimeSpan UncleanDisconnectTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Retries after the first attempt (retryablehttp default 4).</summary>
    public int WebhookRetries { get; set; } = 4;

    public TimeSpan WebhookRetryMin { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan WebhookRetryMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An event that waited longer than this before its first send is dropped.</summary>
    public TimeSpan WebhookMaxQueueWait { get; set; } = TimeSpan.FromSeconds(30);

    public int WebhookQueueLimit { get; set; } = 200;

    /// <summary>RoomService calls answered per <see cref="RateLimitWindow"/> before the rest get 429 resource_exhausted, as LiveKit Cloud limits a project; 0: no limit.</summary>
    public int RateLimit { get; set; }

    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Listen address of the in-process server.</summary>
    public string Url { get; set; } = "http://127.0.0.1:0";
}
