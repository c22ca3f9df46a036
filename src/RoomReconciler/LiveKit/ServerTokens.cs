using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace RoomReconciler.LiveKit;

/// <summary>
/// Server-API tokens for RoomService calls (docs/livekit.md §3): one for ListRooms (video.roomList), one per
/// room for the participant calls (video.roomAdmin + video.room), each reused until shortly before it expires.
/// Thread-safe: two callers racing on a stale entry both mint a token, which is harmless.
/// </summary>
public sealed class ServerTokens(IOptions<LiveKitOptions> options, TimeProvider time)
{
    /// <summary>Short, so that a leaked token is soon useless; long enough that a poll every few seconds mints few.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A token is replaced this long before its exp, more than a call's whole budget with retries (below the poll
    /// interval) plus clock skew, so that no attempt ever carries a token that expires on its way.
    /// </summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(2);

    /// <summary>
    /// nbf and iat are set this far back, LiveKit's own leeway (docs/livekit.md §8): with its leeway on top, a
    /// LiveKit clock up to two minutes behind ours still accepts the token, and one ahead is bounded only by exp.
    /// </summary>
    public static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromSeconds(60);

    /// <summary>Rooms come and go with sessions; past this many cached tokens the stale ones are dropped.</summary>
    private const int PruneAbove = 512;

    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset RenewAt)> _cache = new();

    public string ForRoomList() => Get("list", new VideoGrants { RoomList = true });

    public string ForRoomAdmin(string room) => Get("admin:" + room, new VideoGrants { RoomAdmin = true, Room = room });

    private string Get(string key, VideoGrants grants)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && now < cached.RenewAt) return cached.Token;
        var settings = options.Value;
        var token = AccessToken.Create(settings.ApiKey!, settings.ApiSecret!, now - ClockSkewAllowance, Lifetime + ClockSkewAllowance, grants);
        if (_cache.Count >= PruneAbove)
            foreach (var (staleKey, entry) in _cache)
                if (entry.RenewAt <= now) _cache.TryRemove(staleKey, out _);
        _cache[key] = (token, now + Lifetime - RenewBefore);
        return token;
    }
}
