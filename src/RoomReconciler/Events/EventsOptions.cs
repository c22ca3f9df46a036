using RoomReconciler.Hosting;

namespace RoomReconciler.Events;

/// <summary>Outbound events: where clock transitions are delivered, and how failed deliveries are retried.</summary>
public sealed class EventsOptions : IKeyedOptions
{
    public static string Section => "Events";

    /// <summary>The default schedule: the Standard Webhooks/Svix one (5 s ... 10 h), then daily, about three days in all.</summary>
    public static readonly TimeSpan[] DefaultRetrySchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10), TimeSpan.FromDays(1), TimeSpan.FromDays(1),
    ];

    /// <summary>Events:Endpoints:N:Url and :Secret; N is the endpoint's number in `events status` and `events replay`.</summary>
    public List<EventEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>
    /// The delay before each retry of a failed delivery; after the last one the event is dead. Null until configured:
    /// the configuration binder appends to a collection it finds filled, so the default lives in <see cref="Schedule"/>.
    /// </summary>
    public TimeSpan[]? RetrySchedule { get; set; }

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest the delivery sleeps without a notification: the bound on noticing work another way.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    public IReadOnlyList<TimeSpan> Schedule() => RetrySchedule ?? DefaultRetrySchedule;

    /// <summary>
    /// How long a claimed delivery stays with its replica: longer than an attempt and its answer's write, so that a
    /// live replica never loses a claim, and short enough that one killed mid-attempt delays its session little.
    /// </summary>
    public TimeSpan Lease() => Timeout * 2 + TimeSpan.FromSeconds(1);

    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < Endpoints.Count; i++)
            foreach (var problem in Endpoints[i].Validate($"Events:Endpoints:{i}")) yield return problem;
        if (RetrySchedule is { Length: 0 }) yield return "Events:RetrySchedule must hold at least one delay";
        for (var i = 0; i < (RetrySchedule?.Length ?? 0); i++)
            foreach (var p in KeyedOptionsExtensions.Positive(RetrySchedule![i], $"Events:RetrySchedule:{i}")) yield return p;
        foreach (var p in KeyedOptionsExtensions.Positive(Timeout, "Events:Timeout")) yield return p;
        foreach (var p in KeyedOptionsExtensions.Positive(PollInterval, "Events:PollInterval")) yield return p;
    }
}

public sealed class EventEndpointOptions
{
    public const string SecretPrefix = "whsec_";

    /// <summary>Where events are POSTed (http or https).</summary>
    public string? Url { get; set; }

    /// <summary>
    /// One or more space-separated <c>whsec_</c> secrets (base64 after the prefix). Each signs every attempt, so a
    /// receiver holding either verifies it: add the new secret, move the receiver to it, then remove the old one.
    /// </summary>
    public string? Secret { get; set; }

    public IReadOnlyList<string> Secrets() => (Secret ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public IEnumerable<string> Validate(string key)
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            yield return $"{key}:Url must be an absolute http(s) URL (got '{Url}')";
        if (Secrets().Count == 0) yield return $"{key}:Secret is required: a whsec_ secret (whsec_ then base64)";
        // The secret itself is never echoed: the message reaches logs.
        for (var i = 0; i < Secrets().Count; i++)
            if (!IsSecret(Secrets()[i]))
                yield return $"{key}:Secret: secret {i + 1} is not whsec_ followed by base64 of at least 24 bytes";
    }

    private static bool IsSecret(string secret)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) return false;
        var bytes = new byte[secret.Length];
        return Convert.TryFromBase64String(secret[SecretPrefix.Length..], bytes, out var length) && length >= 24;
    }
}
