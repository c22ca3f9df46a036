using System.Collections.Concurrent;
using System.Security.Claims;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Clock;

/// <summary>
/// LiveKit join tokens verified by the one <see cref="TokenVerifier"/> (HS256 with the API secret, exp required), as
/// the principal <see cref="JoinTokenAuthentication"/> signs a request in with. Browsers poll with the same token every
/// few seconds, so a token that verified is remembered with its principal and lifetime; the lifetime is still checked
/// on every use.
/// </summary>
public sealed class JoinTokens(TokenVerifier verifier, TimeProvider time)
{
    private const int MaxRemembered = 50_000;

    private readonly ConcurrentDictionary<string, Verified> _verified = new(StringComparer.Ordinal);

    /// <summary>
    /// The principal is built once per token and shared by its requests, which only read it (no claims transformation
    /// is registered): a poll or a stream then costs no allocation for it.
    /// </summary>
    private sealed record Verified(ClaimsPrincipal Principal, DateTimeOffset NotAfter, DateTimeOffset NotBefore);

    /// <exception cref="TokenRejectedException">with the reason</exception>
    public ClaimsPrincipal Verify(string token)
    {
        var now = time.GetUtcNow();
        if (_verified.TryGetValue(token, out var known))
        {
            if (now <= known.NotAfter && now >= known.NotBefore) return known.Principal;
            _verified.TryRemove(token, out _);
        }
        var verified = verifier.Verify(token);
        var remembered = new Verified(JoinTokenAuthentication.Principal(verified.Video),
            verified.Expires + TokenVerifier.Leeway, verified.NotBefore - TokenVerifier.Leeway ?? DateTimeOffset.MinValue);
        if (_verified.Count >= MaxRemembered) _verified.Clear();
        _verified[token] = remembered;
        return remembered.Principal;
    }
}
