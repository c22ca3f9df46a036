using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Tests.Support;

/// <summary>
/// JWTs built and checked by hand, independently of the daemon's and the simulator's own JWT code, including the
/// malformed and hostile ones the product code must never mint.
/// </summary>
public static class TestTokens
{
    public const string ApiKey = "devkey";
    public const string Secret = "secret";

    public static string Encode(string json) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public static string Sign(string payloadJson, string secret = Secret, string alg = "HS256")
    {
        var input = Encode($$"""{"alg":"{{alg}}","typ":"JWT"}""") + "." + Encode(payloadJson);
        return input + "." + System.Buffers.Text.Base64Url.EncodeToString(Mac(input, secret, alg));
    }

    /// <summary>A token as LiveKit's SDKs make it: iss, iat, nbf, exp (10 min unless told) and the video grant.</summary>
    public static string Mint(object? video, string key = ApiKey, string secret = Secret, TimeSpan? expiresIn = null,
        TimeSpan? notBeforeIn = null, bool withExp = true, string alg = "HS256")
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new JsonObject { ["iss"] = key, ["iat"] = now, ["nbf"] = now + (long)(notBeforeIn ?? TimeSpan.Zero).TotalSeconds };
        if (withExp) claims["exp"] = now + (long)(expiresIn ?? TimeSpan.FromMinutes(10)).TotalSeconds;
        if (video is not null) claims["video"] = JsonSerializer.SerializeToNode(video);
        return Sign(claims.ToJsonString(), secret, alg);
    }

    public static string List() => Mint(new { roomList = true });

    public static string Admin(string room) => Mint(new { roomAdmin = true, room });

    public static string Create() => Mint(new { roomCreate = true });

    /// <summary>The claims of a token, unverified.</summary>
    public static JsonElement Claims(string jwt) => JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(jwt.Split('.')[1])).RootElement;

    /// <summary>The claims when the token is HS256 and its signature verifies with <paramref name="secret"/>, else null.</summary>
    public static JsonElement? Verify(string token, string secret = Secret)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        if (System.Buffers.Text.Base64Url.EncodeToString(Mac(parts[0] + "." + parts[1], secret, "HS256")) != parts[2]) return null;
        var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[0])).RootElement;
        return header.GetProperty("alg").GetString() == "HS256" ? Claims(token) : null;
    }

    /// <summary>A webhook signature as LiveKit makes it (docs/livekit.md §4): sha256 claim, 5 min lifetime, no sub, no video.</summary>
    public static string Webhook(byte[] body, string secret = Secret, DateTimeOffset? now = null, TimeSpan? lifetime = null) =>
        AccessToken.Create(ApiKey, secret, now ?? DateTimeOffset.UtcNow, lifetime ?? TimeSpan.FromMinutes(5),
            extraClaims: new Dictionary<string, object?> { ["sha256"] = Convert.ToBase64String(SHA256.HashData(body)) });

    private static byte[] Mac(string input, string secret, string alg)
    {
        var key = Encoding.UTF8.GetBytes(secret);
        var data = Encoding.ASCII.GetBytes(input);
        return alg switch
        {
            "HS256" => HMACSHA256.HashData(key, data),
            "HS512" => HMACSHA512.HashData(key, data),
            _ => [],
        };
    }
}
