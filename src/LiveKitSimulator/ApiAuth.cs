using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace LiveKitSimulator;

/// <summary>The parts of the token's <c>video</c> grant that RoomService checks (§3).</summary>
public sealed record VideoGrant(bool RoomList, bool RoomCreate, bool RoomAdmin, string Room)
{
    public static readonly VideoGrant None = new(false, false, false, "");
}

/// <summary>What the auth middleware decided: a plain-text rejection, or the grants (None when no token was sent).</summary>
public readonly record struct AuthOutcome(string? Rejection, VideoGrant Grant);

/// <summary>LiveKit's APIKeyAuthMiddleware (§1, §3), as it runs before Twirp routing.</summary>
public sealed class ApiAuth(Func<string, string?> secretForKey, TimeProvider time)
{
    private const string Bearer = "Bearer ";

    public AuthOutcome Authenticate(HttpRequest request)
    {
        string token;
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            if (!header.StartsWith(Bearer, StringComparison.Ordinal))
                return Reject("invalid authorization header. Must start with Bearer ");
            token = header[Bearer.Length..];
        }
        else
        {
            token = request.Query["access_token"].ToString();
        }
        if (token.Length == 0) return new AuthOutcome(null, VideoGrant.None);

        if (Jwt.Decode(token) is not var (_, claims)) return Reject("invalid authorization token");
        var key = claims.TryGetProperty("iss", out var iss) && iss.ValueKind == JsonValueKind.String ? iss.GetString()! : "";
        if (secretForKey(key) is not { Length: > 0 } secret) return Reject("invalid API key");
        if (Jwt.Verify(token, secret, time.GetUtcNow()) is { } error) return Reject("invalid authorization token: " + error);
        return new AuthOutcome(null, ReadGrant(claims));
    }

    private static AuthOutcome Reject(string message) => new(message, VideoGrant.None);

    private static VideoGrant ReadGrant(JsonElement claims)
    {
        if (!claims.TryGetProperty("video", out var video) || video.ValueKind != JsonValueKind.Object) return VideoGrant.None;
        bool Flag(string name) => video.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
        var room = video.TryGetProperty("room", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
        return new VideoGrant(Flag("roomList"), Flag("roomCreate"), Flag("roomAdmin"), room);
    }
}
