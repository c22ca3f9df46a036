using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RoomReconciler.LiveKit;

public sealed class MalformedWebhookException(string message) : Exception(message);

/// <summary>
/// Verifies and parses a LiveKit webhook as LiveKit's own receivers do (docs/livekit.md §4): the Authorization
/// header is a JWT (a "Bearer " prefix is tolerated) signed HS256 by our API key, and its sha256 claim is the
/// standard, padded base64 of SHA-256 over the body bytes exactly as received.
/// </summary>
public sealed class WebhookReceiver(TokenVerifier verifier)
{
    /// <exception cref="TokenRejectedException">the signature, token or checksum is wrong: answer 401</exception>
    /// <exception cref="MalformedWebhookException">signed, but not a webhook event with an id and an event name: answer 400</exception>
    public WebhookEvent Receive(ReadOnlySpan<byte> body, string? authorization)
    {
        var token = authorization?.Trim();
        if (token is not null && token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) token = token[7..].TrimStart();
        var verified = verifier.Verify(token);

        // Compared as strings, in constant time, like LiveKit's Go receiver (subtle.ConstantTimeCompare).
        var expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(SHA256.HashData(body)));
        if (verified.Sha256 is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(verified.Sha256), expected))
            throw new TokenRejectedException("sha256 checksum of the body does not match");

        WebhookEvent? evt;
        try { evt = JsonSerializer.Deserialize<WebhookEvent>(body, LiveKitJson.Options); }
        catch (JsonException e) { throw new MalformedWebhookException($"the body is not a webhook event: {e.Message}"); }
        if (evt is null || string.IsNullOrEmpty(evt.Id) || string.IsNullOrEmpty(evt.Event))
            throw new MalformedWebhookException("the webhook event has no id or no event name");
        return evt;
    }
}
