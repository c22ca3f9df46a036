using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LiveKitSimulator;

/// <summary>
/// HS256 JWTs done by hand with HMACSHA256 (§3). The .NET JWT stack (System.IdentityModel.Tokens.Jwt) refuses
/// keys under 256 bits, so it cannot handle the dev secret "secret"; and this code is deliberately independent of
/// the daemon's own token code, so that one shared bug cannot make both sides agree on something LiveKit rejects.
/// </summary>
public static class Jwt
{
    private static readonly byte[] Header = Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}""");

    /// <summary>golang-jwt v5 leeway used by LiveKit's verifier.</summary>
    public static readonly TimeSpan Leeway = TimeSpan.FromSeconds(60);

    public static string Sign(JsonObject claims, string secret)
    {
        var signingInput = Base64Url(Header) + "." + Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return signingInput + "." + Base64Url(Mac(signingInput, secret));
    }

    /// <summary>Decodes without verifying, as LiveKit's ParseAPIToken does to find the key; null when not a JWT.</summary>
    public static (JsonElement Header, JsonElement Claims)? Decode(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        try
        {
            var header = JsonDocument.Parse(FromBase64Url(parts[0])).RootElement;
            var claims = JsonDocument.Parse(FromBase64Url(parts[1])).RootElement;
            return header.ValueKind == JsonValueKind.Object && claims.ValueKind == JsonValueKind.Object ? (header, claims) : null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Checks alg, signature, exp (required) and nbf with leeway; returns golang-jwt's error text, or null when valid.</summary>
    public static string? Verify(string token, string secret, DateTimeOffset now)
    {
        if (Decode(token) is not var (header, claims)) return "token is malformed: token contains an invalid number of segments";
        var alg = header.TryGetProperty("alg", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        if (alg != "HS256") return $"token signature is invalid: signing method {alg} is invalid";

        var dot = token.LastIndexOf('.');
        byte[] signature;
        try
        {
            signature = FromBase64Url(token[(dot + 1)..]);
        }
        catch (FormatException)
        {
            return "token signature is invalid: signature is invalid";
        }
        if (!CryptographicOperations.FixedTimeEquals(signature, Mac(token[..dot], secret)))
            return "token signature is invalid: signature is invalid";

        var seconds = now.ToUnixTimeMilliseconds() / 1000.0;
        if (NumericClaim(claims, "exp") is not { } exp)
            return "token has invalid claims: token is missing required claim: exp claim is required";
        if (seconds > exp + Leeway.TotalSeconds) return "token has invalid claims: token is expired";
        if (NumericClaim(claims, "nbf") is { } nbf && seconds < nbf - Leeway.TotalSeconds)
            return "token has invalid claims: token is not valid yet";
        return null;
    }

    public static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '='));
    }

    private static byte[] Mac(string signingInput, string secret) =>
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));

    private static double? NumericClaim(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
