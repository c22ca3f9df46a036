using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RoomReconciler.LiveKit;

/// <summary>A LiveKit JWT whose signature, issuer and lifetime have been checked; <c>exp</c> and <c>nbf</c> as they are, without the leeway.</summary>
public sealed record VerifiedToken(
    string Issuer, string? Identity, VideoGrants? Video, string? Sha256, JsonElement Claims, DateTimeOffset Expires, DateTimeOffset? NotBefore);

public sealed class TokenRejectedException(string reason) : Exception(reason);

/// <summary>
/// Verifies LiveKit JWTs as the server does (docs/livekit.md §3): HS256 only (never "none" nor any other
/// alg), the secret looked up by the `iss` API key, `exp` required, `exp`/`nbf` checked with 60 s leeway.
/// Written by hand for the same reason as <see cref="AccessToken"/>: the dev secret is too short for the .NET JWT stack.
/// One instance, registered by <see cref="LiveKitRegistration.AddLiveKit"/>, serves the webhooks and the join tokens.
/// </summary>
public sealed class TokenVerifier(IReadOnlyDictionary<string, string> secretsByKey, TimeProvider time)
{
    public static readonly TimeSpan Leeway = TimeSpan.FromSeconds(60);
    private const int MaxTokenLength = 16 * 1024;

    /// <summary>The reason given for no token at all.</summary>
    public const string MissingToken = "token is missing";

    public TokenVerifier(string apiKey, string apiSecret, TimeProvider time)
        : this(new Dictionary<string, string> { [apiKey] = apiSecret }, time) { }

    /// <exception cref="TokenRejectedException">with the reason, for any problem</exception>
    public VerifiedToken Verify(string? token)
    {
        if (string.IsNullOrEmpty(token)) throw new TokenRejectedException(MissingToken);
        if (token.Length > MaxTokenLength) throw new TokenRejectedException("token is too long");
        var parts = token.Split('.');
        if (parts.Length != 3) throw new TokenRejectedException("token is not a JWT");
        var header = ParseJson(parts[0], "header");
        if (!header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "HS256")
            throw new TokenRejectedException("token algorithm must be HS256");
        var claims = ParseJson(parts[1], "payload");

        var issuer = StringClaim(claims, "iss") ?? throw new TokenRejectedException("token has no issuer");
        if (!secretsByKey.TryGetValue(issuer, out var secret)) throw new TokenRejectedException("unknown API key");
        if (!Base64Url.TryDecode(parts[2], out var signature)
            || !CryptographicOperations.FixedTimeEquals(signature, AccessToken.Mac(parts[0] + "." + parts[1], secret)))
            throw new TokenRejectedException("token signature is invalid");

        var now = time.GetUtcNow();
        var exp = TimeClaim(claims, "exp") ?? throw new TokenRejectedException("token has no expiry");
        if (now > exp + Leeway) throw new TokenRejectedException("token is expired");
        var notBefore = TimeClaim(claims, "nbf");
        if (notBefore is { } nbf && now + Leeway < nbf) throw new TokenRejectedException("token is not valid yet");

        VideoGrants? video = null;
        if (claims.TryGetProperty("video", out var v) && v.ValueKind == JsonValueKind.Object)
        {
            try { video = v.Deserialize<VideoGrants>(); }
            catch (JsonException) { throw new TokenRejectedException("token video grant is malformed"); }
        }
        var identity = StringClaim(claims, "sub") is { Length: > 0 } sub ? sub : StringClaim(claims, "jti");
        return new VerifiedToken(issuer, identity, video, StringClaim(claims, "sha256"), claims, exp, notBefore);
    }

    private static JsonElement ParseJson(string segment, string what)
    {
        if (!Base64Url.TryDecode(segment, out var bytes)) throw new TokenRejectedException($"token {what} is not base64url");
        try
        {
            var element = JsonDocument.Parse(bytes).RootElement;
            return element.ValueKind == JsonValueKind.Object ? element.Clone() : throw new TokenRejectedException($"token {what} is not a JSON object");
        }
        catch (JsonException) { throw new TokenRejectedException($"token {what} is not JSON"); }
    }

    private static string? StringClaim(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? TimeClaim(JsonElement claims, string name)
    {
        if (!claims.TryGetProperty(name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || double.IsNaN(seconds)
            || seconds is < 0 or > 253402300799)
            throw new TokenRejectedException($"token {name} is not a NumericDate");
        return DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
    }
}
