using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Clock;

/// <summary>
/// Who may read a clock: the holder of a LiveKit join token for the session's room, verified by
/// <see cref="TokenVerifier"/> (HS256 with the API secret, exp required). Browsers poll with the same token every
/// few seconds, so a token that verified is remembered with its grant and expiry; expiry is still checked on every use.
/// </summary>
public sealed class ClockAccess
{
    private const int MaxRemembered = 50_000;

    private readonly bool _required;
    private readonly TokenVerifier _verifier;
    private readonly RoomNames _rooms;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Grant> _verified = new(StringComparer.Ordinal);

    private sealed record Grant(bool RoomJoin, string? Room, DateTimeOffset NotAfter, DateTimeOffset NotBefore);

    public ClockAccess(IOptions<ClockApiOptions> options, IOptions<LiveKitOptions> liveKit, IOptions<ReconcilerOptions> rooms, TimeProvider time)
    {
        _required = options.Value.RequireToken;
        _verifier = new TokenVerifier(liveKit.Value.ApiKey!, liveKit.Value.ApiSecret!, time);
        _rooms = rooms.Value.Rooms();
        _time = time;
    }

    /// <summary>The token from <c>Authorization: Bearer</c>, or from <c>?access_token=</c> for EventSource, which cannot set headers.</summary>
    public static string? TokenOf(HttpRequest request)
    {
        var header = request.Headers.Authorization;
        if (header.Count == 1 && header[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return value[7..].Trim();
        if (header.Count > 0) return null;
        var query = request.Query["access_token"];
        return query.Count == 1 ? query[0] : null;
    }

    /// <summary>Authentication first (401 tells nothing about the session), then the room (403).</summary>
    public ClockAccessVerdict Check(string? token, Guid? sessionId, out string? reason)
    {
        reason = null;
        if (!_required) return ClockAccessVerdict.Allowed;
        if (Verified(token, out reason) is not { } grant) return ClockAccessVerdict.Unauthenticated;
        if (sessionId is not { } id) return ClockAccessVerdict.Allowed; // the caller answers 400 for the id
        if (grant.RoomJoin && grant.Room == _rooms.For(id)) return ClockAccessVerdict.Allowed;
        reason = grant.RoomJoin ? "the token is for another room" : "the token does not grant roomJoin";
        return ClockAccessVerdict.Forbidden;
    }

    private Grant? Verified(string? token, out string? reason)
    {
        reason = null;
        var now = _time.GetUtcNow();
        if (token is not null && _verified.TryGetValue(token, out var known))
        {
            if (now <= known.NotAfter && now >= known.NotBefore) return known;
            _verified.TryRemove(token, out _);
        }
        try
        {
            var verified = _verifier.Verify(token);
            // Verify has checked that exp exists and that both are NumericDates.
            var grant = new Grant(verified.Video?.RoomJoin == true, verified.Video?.Room,
                Time(verified.Claims, "exp")!.Value + TokenVerifier.Leeway,
                Time(verified.Claims, "nbf") - TokenVerifier.Leeway ?? DateTimeOffset.MinValue);
            if (_verified.Count >= MaxRemembered) _verified.Clear();
            _verified[token!] = grant;
            return grant;
        }
        catch (TokenRejectedException e)
        {
            reason = e.Message;
            return null;
        }
    }

    private static DateTimeOffset? Time(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.TryGetDouble(out var seconds)
            ? DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000))
            : null;
}
