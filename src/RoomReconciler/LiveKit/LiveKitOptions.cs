using RoomReconciler.Hosting;

namespace RoomReconciler.LiveKit;

public sealed class LiveKitOptions : IKeyedOptions
{
    public static string Section => "LiveKit";

    /// <summary>The LiveKit server: http(s):// or ws(s):// (the RoomService speaks HTTP on the same port).</summary>
    public string? Url { get; set; }
    public string? ApiKey { get; set; }
    public string? ApiSecret { get; set; }

    public IEnumerable<string> Validate()
    {
        foreach (var p in KeyedOptionsExtensions.Required(ApiKey, "LiveKit:ApiKey")) yield return p;
        foreach (var p in KeyedOptionsExtensions.Required(ApiSecret, "LiveKit:ApiSecret")) yield return p;
        if (string.IsNullOrWhiteSpace(Url)) yield return "LiveKit:Url is required";
        else if (HttpBaseUri is null)
            yield return $"LiveKit:Url must be an absolute http, https, ws or wss URL (got '{Url}')";
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
