using RoomReconciler.Hosting;

namespace RoomReconciler.LiveKit;

public sealed class LiveKitOptions : IKeyedOptions
{
    public static string Section => "LiveKit";

    /// <summary>The LiveKit server: http(s):// or ws(s):// (the RoomService speaks HTTP on the same port).</summary>
    public string? Url { get; set; }
    public string? ApiKey { get; set; }
    public string? ApiSecret { get; set; }

    /// <summary>
    /// RoomService calls all replicas together may make per <see cref="RequestWindow"/>: LiveKit Cloud allows a project
    /// 1,000 a minute, shared with the application's own server calls, so 600 leaves it 400. 0: no limit (self-hosted).
    /// </summary>
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>The sliding window the budget is counted over: LiveKit Cloud's minute. Shorter only to compress time in tests.</summary>
    public TimeSpan RequestWindow { get; set; } = TimeSpan.FromMinutes(1);

    public IEnumerable<string> Validate()
    {
        foreach (var p in KeyedOptionsExtensions.Required(ApiKey, "LiveKit:ApiKey")) yield return p;
        foreach (var p in KeyedOptionsExtensions.Required(ApiSecret, "LiveKit:ApiSecret")) yield return p;
        if (string.IsNullOrWhiteSpace(Url)) yield return "LiveKit:Url is required";
        else if (HttpBaseUri is null)
            yield return $"LiveKit:Url must be an absolute http, https, ws or wss URL (got '{Url}')";
        if (RequestsPerMinute < 0)
            yield return $"LiveKit:RequestsPerMinute must not be negative; 0 turns the budget off (got {RequestsPerMinute})";
        foreach (var p in KeyedOptionsExtensions.Positive(RequestWindow, "LiveKit:RequestWindow")) yield return p;
    }

    /// <summary>The HTTP base address for Twirp calls: ws becomes http and wss becomes https.</summary>
    public Uri? HttpBaseUri
    {
        get
        {
            if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri)) return null;
            var scheme = uri.Scheme switch { "http" or "ws" => "http", "https" or "wss" => "https", _ => null };
            if (scheme is null) return null;
            var builder = new UriBuilder(uri) { Scheme = scheme, Port = uri.IsDefaultPort ? -1 : uri.Port };
            if (!builder.Path.EndsWith('/')) builder.Path += "/";
            return builder.Uri;
        }
    }
}
