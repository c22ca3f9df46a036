using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace RoomReconciler.Clock;

/// <summary>
/// How many clock streams may be open: <c>ClockApi:MaxStreamsPerToken</c> per join token and <c>ClockApi:MaxStreams</c>
/// in all (README.md, "Stream limits"). A token is counted by its SHA-256, so this table holds no credential; a count
/// is dropped when its last stream closes, so the table is as large as the tokens holding streams.
/// </summary>
public sealed class ClockStreamLimits
{
    /// <summary>The Retry-After of a 429: streams end when their clients leave, so a few seconds, not one.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>What one open stream adds to the RSS, with margin: 28 KB measured at 10,000 streams (README.md).</summary>
    public const long BytesPerStream = 32 * 1024;

    /// <summary>The idle process with its cache, with margin: 145 MB measured with 5,000 sessions known.</summary>
    public const long ReservedBytes = 160L * 1024 * 1024;

    /// <summary>The most any default allows: beyond it file descriptors and one core's fan-out are the limit, not memory.</summary>
    public const int MaxDefault = 50_000;

    /// <summary>The least a default allows, so that a small container still serves its streams (and fails by memory, loudly).</summary>
    public const int MinDefault = 1_000;

    private readonly ClockMetrics _metrics;
    private readonly int _perToken;
    private readonly int _total;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _byToken = new(StringComparer.Ordinal);
    private int _open;

    public ClockStreamLimits(IOptions<ClockApiOptions> options, ClockMetrics metrics, ILogger<ClockStreamLimits> log)
    {
        _metrics = metrics;
        _perToken = options.Value.MaxStreamsPerToken;
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        _total = options.Value.MaxStreams ?? DefaultMaxStreams(available);
        if (options.Value.MaxStreams is null)
            log.LogInformation("Clock streams limited to {MaxStreams} (ClockApi:MaxStreams unset: {Available} MB available to the process)",
                _total, available / (1024 * 1024));
    }

    /// <summary>
    /// Streams that fit in <paramref name="availableBytes"/> (the container's memory limit, or the machine's memory,
    /// as the GC sees it) beside the idle process, between <see cref="MinDefault"/> and <see cref="MaxDefault"/>.
    /// </summary>
    public static int DefaultMaxStreams(long availableBytes) =>
        (int)Math.Clamp((availableBytes - ReservedBytes) / BytesPerStream, MinDefault, MaxDefault);

    /// <summary>The key a token is counted under; null (no token: access not required) is counted only globally.</summary>
    public static string? KeyOf(string? token) =>
        token is null ? null : Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Takes a slot for a stream of <paramref name="tokenKey"/>, or says which limit refused it.</summary>
    public bool TryAcquire(string? tokenKey, out ClockStreamLimit refused)
    {
        lock (_gate)
        {
            refused = ClockStreamLimit.Global;
            var held = 0;
            if (_open < _total && (tokenKey is null || (held = _byToken.GetValueOrDefault(tokenKey)) < _perToken))
            {
                _open++;
                if (tokenKey is not null) _byToken[tokenKey] = held + 1;
                return true;
            }
            if (_open < _total) refused = ClockStreamLimit.Token;
        }
        _metrics.StreamRefused(refused);
        return false;
    }

    public void Release(string? tokenKey)
    {
        lock (_gate)
        {
            _open--;
            if (tokenKey is null) return;
            var held = _byToken[tokenKey] - 1;
            if (held == 0) _byToken.Remove(tokenKey);
            else _byToken[tokenKey] = held;
        }
    }
}
