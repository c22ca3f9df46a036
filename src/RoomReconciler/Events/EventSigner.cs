using System.Globalization;
using StandardWebhooks;

namespace RoomReconciler.Events;

/// <summary>
/// Standard Webhooks signatures for one endpoint, by the StandardWebhooks package (the specification's own .NET
/// library): <c>v1,base64(HMAC-SHA256(secret, "id.timestamp.body"))</c>, one per configured secret, space-separated.
/// </summary>
public sealed class EventSigner(IReadOnlyList<string> secrets)
{
    private readonly StandardWebhook[] _webhooks = [.. secrets.Select(s => new StandardWebhook(s))];

    /// <summary>The three headers of one attempt; signed anew for each, since receivers refuse old timestamps.</summary>
    public IEnumerable<KeyValuePair<string, string>> Headers(Guid eventId, DateTimeOffset attemptAt, string body)
    {
        var id = eventId.ToString("D");
        // Whole seconds, as the header carries them: the signature must cover the timestamp the receiver reads.
        var timestamp = DateTimeOffset.FromUnixTimeSeconds(attemptAt.ToUnixTimeSeconds());
        yield return new("webhook-id", id);
        yield return new("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        yield return new("webhook-signature", string.Join(' ', _webhooks.Select(w => w.Sign(id, timestamp, body))));
    }
}
