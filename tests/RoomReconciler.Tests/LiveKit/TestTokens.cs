using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>JWTs built by hand, including the malformed and hostile ones the product code must never mint.</summary>
public static class TestTokens
{
    public const string ApiKey = "devkey";
    public const string Secret = "secret";

    public static string Encode(string json) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public static string Sign(string payloadJson, string secret = Secret, string alg = "HS256")
    {
        var input = Encode($$"""{"alg":"{{alg}}","typ":"JWT"}""") + "." + Encode(payloadJson);
        var key = Encoding.UTF8.GetBytes(secret);
        var data = Encoding.ASCII.GetBytes(input);
        var mac = alg switch
        {
            "HS256" => HMACSHA256.HashData(key, data),
            "HS512" => HMACSHA512.HashData(key, data),
            _ => [],
        };
        return input + "." + System.Buffers.Text.Base64Url.EncodeToString(mac);
    }

    /// <summary>The claims of a token, unverified.</summary>
    public static JsonElement Claims(string jwt) =>
        JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(jwt.Split('.')[1])).RootElement;

    /// <summary>A webhook signature as LiveKit makes it (livekit-protocol.md §4): sha256 claim, 5 min lifetime, no sub, no video.</summary>
    public static string Webhook(byte[] body, string secret = Secret, DateTimeOffset? now = null, TimeSpan? lifetime = null) =>
        AccessToken.Create(ApiKey, secret, now ?? DateTimeOffset.UtcNow, lifetime ?? TimeSpan.FromMinutes(5),
            extraClaims: new Dictionary<string, object?> { ["sha256"] = Convert.ToBase64String(SHA256.HashData(body)) });
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;
    public override DateTimeOffset GetUtcNow() => Now;
}
