using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using RoomReconciler.Clock;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Clock;

/// <summary>ClockApi:MaxStreamsPerToken and ClockApi:MaxStreams over real HTTP: 429 with Retry-After past either, counted by limit.</summary>
public sealed class ClockStreamLimitTests
{
    private ClockDatabase _db = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _db = await ClockDatabase.CreateAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _db.DisposeAsync();

    private static Task<HttpResponseMessage> OpenAsync(ClockHost host, Guid session, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/clock/{session}/stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task AssertTooManyAsync(HttpResponseMessage refused, string detail)
    {
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(refused.Headers.RetryAfter?.Delta, Is.EqualTo(ClockStreamLimits.RetryAfter));
        Assert.That(refused.Headers.CacheControl?.NoStore, Is.True);
        Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(429));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(detail));
    }

    private static async Task<string> MetricsAsync(ClockHost host) => await host.Client.GetStringAsync("/metrics");

    [Test]
    public async Task OneClientWithOneToken_OpensAtMostFourStreams_TheRestAre429UntilOneCloses()
    {
        await using var host = await ClockHost.StartAsync(_db.ConnectionString);
        var session = await _db.NewSessionAsync();
        var token = ClockHost.Token(session);

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => OpenAsync(host, session, token)));
        try
        {
            var open = answers.Where(a => a.StatusCode == HttpStatusCode.OK).ToList();
            var refused = answers.Where(a => a.StatusCode != HttpStatusCode.OK).ToList();
            Assert.That(open, Has.Count.EqualTo(4), string.Join(", ", answers.Select(a => (int)a.StatusCode)));
            foreach (var answer in refused) await AssertTooManyAsync(answer, "ClockApi:MaxStreamsPerToken");
            Assert.That(await MetricsAsync(host), Does.Contain("roomreconciler_clock_streams_refused_total{limit=\"token\"} 8"));
            Assert.That(await MetricsAsync(host), Does.Contain("roomreconciler_clock_requests_total{endpoint=\"stream\",status=\"429\"} 8"));

            // The other participant's token is counted apart.
            var other = await OpenAsync(host, session, ClockHost.Token(session, issuedAt: DateTimeOffset.UtcNow.AddSeconds(-5)));
            Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            other.Dispose();

            // A closed stream gives its slot back: once the server has seen it go, the same token opens again.
            open[0].Dispose();
            await Eventually.Async(async () => (await OpenAsync(host, session, token)).StatusCode, s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(10),
                "a stream of the token after one of its four closed");
        }
        finally
        {
            foreach (var answer in answers) answer.Dispose();
        }
    }

    [Test]
    public async Task PastMaxStreams_EveryTokenIs429_AndTheRefusalsAreCountedAsGlobal()
    {
        await using var host = await ClockHost.StartAsync(_db.ConnectionString, "--ClockApi:MaxStreams=3");
        var sessions = new List<Guid>();
        for (var i = 0; i < 4; i++) sessions.Add(await _db.NewSessionAsync());

        var open = new List<HttpResponseMessage>();
        try
        {
            foreach (var session in sessions.Take(3))
            {
                open.Add(await OpenAsync(host, session, ClockHost.Token(session)));
                Assert.That(open[^1].StatusCode, Is.EqualTo(HttpStatusCode.OK));
            }
            using var refused = await OpenAsync(host, sessions[3], ClockHost.Token(sessions[3]));
            await AssertTooManyAsync(refused, "ClockApi:MaxStreams");
            Assert.That(await MetricsAsync(host), Does.Contain("roomreconciler_clock_streams_refused_total{limit=\"global\"} 1"));
            // A snapshot is not a stream: GET still answers.
            using var snapshot = await host.GetClockAsync(sessions[3]);
            Assert.That(snapshot.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        finally
        {
            foreach (var answer in open) answer.Dispose();
        }
    }
}
