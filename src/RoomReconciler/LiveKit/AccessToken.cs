using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace RoomReconciler.LiveKit;

/// <summary>
/// LiveKit's access-token grants (docs/livekit.md §3), named as the official SDKs name them. Only the
/// grants this project reads or writes; unknown claims are kept in <see cref="VerifiedToken.Claims"/>.
/// </summary>
public sealed record VideoGrants
{
    [JsonPropertyName("roomCreate")] public bool? RoomCreate { get; init; }
    [JsonPropertyName("roomList")] public bool? RoomList { get; init; }
    [JsonPropertyName("roomAdmin")] public bool? RoomAdmin { get; init; }
    [JsonPropertyName("roomJoin")] public bool? RoomJoin { get; init; }
    [JsonPropertyName("room")] public string? Room { get; init; }
    [JsonPropertyName("hidden")] public bool? Hidden { get; init; }
    [JsonPropertyName("canPublish")] public bool? CanPublish { get; init; }
    [JsonPropertyName("canSubscribe")] public bool? CanSubscribe { get; init; }
}

/// <summary>
/// Mints LiveKit JWTs. HS256 is written by hand over HMACSHA256 because the .NET JWT stack
/// (System.IdentityModel.Tokens.Jwt) refuses keys shorter than 256 bits, and LiveKit's dev secret is
/// "secret" (docs/livekit.md §3, ".NET pitfall").
/// </summary>
public static class AccessToken
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <param name="extraClaims">further top-level claims (name, metadata, sha256, ...), written as given</param>
    public static string Create(string apiKey, string apiSecret, DateTimeOffset now, TimeSpan lifetime,
        VideoGrants? video = null, string? identity = null, IReadOnlyDictionary<string, object?>? extraClaims = null)
    {
        var payload = new JsonObject
        {
            ["iss"] = apiKey,
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
        };
        if (identity is not null) payload["sub"] = identity;
        if (video is not null) payload["video"] = JsonSerializer.SerializeToNode(video, Json);
        foreach (var (name, value) in extraClaims ?? new Dictionary<string, object?>())
            payload[name] = JsonSerializer.SerializeToNode(value, Json);
        return Sign(payload.ToJsonString(), apiSecret);
    }

    internal static string Sign(string payloadJson, string secret)
    {
        var signingInput = Base64Url.Encode("""{"alg":"HS256","typ":"JWT"}"""u8) + "." + Base64Url.Encode(Encoding.UTF8.GetBytes(payloadJson));
        return signingInput + "." + Base64Url.Encode(Mac(signingInput, secret));
    }

    internal static byte[] Mac(string signingInput, string secret) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
}

internal static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static bool TryDecode(string text, out byte[] bytes)
    {
        try { bytes = System.Buffers.Text.Base64Url.DecodeFromChars(text); return true; }
        catch (FormatException) { bytes = []; return false; }
    }
}
