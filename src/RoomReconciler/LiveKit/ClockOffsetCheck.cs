using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.Hosting;

namespace RoomReconciler.LiveKit;

/// <summary>
/// `check`: how far LiveKit's clock (its HTTP Date header) and PostgreSQL's are from ours (docs/livekit.md §8).
/// Every clock time the daemon stores is the database's, so skew does not move a bill; but tokens and webhooks carry
/// times that LiveKit and we check with 60 s leeway, and Quartz's clustering assumes clocks within about a second.
/// Above 1 s is a warning; beyond what the tokens tolerate it fails.
/// </summary>
public sealed class ClockOffsetCheck(IHttpClientFactory httpClients, IOptions<LiveKitOptions> liveKit, TimeProvider time,
    NpgsqlDataSource? dataSource = null) : IStartupCheck
{
    public static readonly TimeSpan WarnAbove = TimeSpan.FromSeconds(1);

    /// <summary>Our nbf is set back by the allowance and LiveKit adds its leeway; past the smaller bound something is refused.</summary>
    public static readonly TimeSpan FailAbove = TokenVerifier.Leeway;

    // The Date header has whole seconds: sample until it ticks over, so the tick's moment is known to within the spacing.
    private static readonly TimeSpan SampleSpacing = TimeSpan.FromMilliseconds(50);
    private const int MaxSamples = 30;
    private const int DatabaseSamples = 5;

    public string Name => "Clock offsets";

    public async Task<StartupCheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        var parts = new List<string>();
        var worst = TimeSpan.Zero;
        foreach (var (what, measure) in new (string, Func<CancellationToken, Task<TimeSpan>>)[] { ("LiveKit", LiveKitOffsetAsync), ("PostgreSQL", DatabaseOffsetAsync) })
        {
            if (what == "PostgreSQL" && dataSource is null) continue;
            try
            {
                var offset = await measure(cancellationToken);
                parts.Add($"{what} {Describe(offset)}");
                if (offset.Duration() > worst) worst = offset.Duration();
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException || Database.DatabaseFailure.IsUnavailable(e))
            {
                parts.Add($"{what} not measured ({e.Message})");
            }
        }
        var text = string.Join(", ", parts);
        if (worst > FailAbove)
            return StartupCheckResult.Failed($"{text}: beyond the {FailAbove.TotalSeconds:0} s that tokens and webhooks tolerate; synchronise the clocks (NTP)");
        return worst > WarnAbove
            ? StartupCheckResult.PassedWithWarning($"{text}: above {WarnAbove.TotalSeconds:0} s, synchronise the clocks (NTP)")
            : StartupCheckResult.Passed(text);
    }

    /// <summary>"+1.234 s ahead of ours" style: positive when their clock is ahead.</summary>
    private static string Describe(TimeSpan offset) =>
        string.Create(CultureInfo.InvariantCulture, $"{offset.TotalSeconds:+0.000;-0.000;0.000} s") + (offset >= TimeSpan.Zero ? " ahead of ours" : " behind ours");

    /// <summary>LiveKit's clock minus ours, from the moment its Date header ticks over to the next second.</summary>
    public async Task<TimeSpan> LiveKitOffsetAsync(CancellationToken ct)
    {
        using var http = httpClients.CreateClient(nameof(ClockOffsetCheck));
        var uri = liveKit.Value.HttpBaseUri ?? throw new InvalidOperationException("LiveKit:Url is not set");
        (DateTimeOffset Date, DateTimeOffset Middle)? previous = null;
        for (var i = 0; i < MaxSamples; i++)
        {
            var sample = await DateSampleAsync(http, uri, ct);
            if (previous is { } p && sample.Date != p.Date)
                // The second began between the two samples' middles: take the middle of that window.
                return sample.Date - (p.Middle + (sample.Middle - p.Middle) / 2);
            previous = sample;
            await Task.Delay(SampleSpacing, time, ct);
        }
        // The header never ticked (a frozen clock or a cache in between): the coarse reading, good to a second.
        return previous!.Value.Date.AddMilliseconds(500) - previous.Value.Middle;
    }

    private async Task<(DateTimeOffset Date, DateTimeOffset Middle)> DateSampleAsync(HttpClient http, Uri uri, CancellationToken ct)
    {
        var sent = time.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
        var middle = sent + Stopwatch.GetElapsedTime(started) / 2;
        return (response.Headers.Date ?? throw new InvalidOperationException($"{uri} sent no Date header"), middle);
    }

    /// <summary>PostgreSQL's clock minus ours, from the sample with the shortest round trip.</summary>
    public async Task<TimeSpan> DatabaseOffsetAsync(CancellationToken ct)
    {
        await using var connection = await dataSource!.OpenConnectionAsync(ct);
        (TimeSpan RoundTrip, TimeSpan Offset)? best = null;
        for (var i = 0; i < DatabaseSamples; i++)
        {
            await using var command = new NpgsqlCommand("SELECT clock_timestamp()", connection);
            var sent = time.GetUtcNow();
            var started = Stopwatch.GetTimestamp();
            var theirs = new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync(ct))!, TimeSpan.Zero);
            var roundTrip = Stopwatch.GetElapsedTime(started);
            if (best is null || roundTrip < best.Value.RoundTrip) best = (roundTrip, theirs - (sent + roundTrip / 2));
        }
        return best!.Value.Offset;
    }
}
