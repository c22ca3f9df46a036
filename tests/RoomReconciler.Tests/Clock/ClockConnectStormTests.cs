using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Npgsql;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Clock;

/// <summary>
/// A deploy's reconnects: many streams and GETs at once for sessions the cache does not hold yet, with a pool of four
/// connections. The misses wait for batched reads rather than for a pooled connection each, so none is refused.
/// </summary>
public sealed class ClockConnectStormTests
{
    private const int Sessions = 1_000;

    [Test]
    public async Task AStormOfOpensForUncachedSessions_IsAnsweredByAFewBatchedLoads_NoneRefused()
    {
        await using var db = await ClockDatabase.CreateAsync();
        List<Guid> sessions = [];
        // Before the host starts: their inserts' notifications would otherwise fill the cache.
        await using (var insert = db.DataSource.CreateCommand($"INSERT INTO sessions (id) SELECT gen_random_uuid() FROM generate_series(1, {Sessions}) RETURNING id"))
        await using (var reader = await insert.ExecuteReaderAsync())
            while (await reader.ReadAsync()) sessions.Add(reader.GetGuid(0));
        var smallPool = new NpgsqlConnectionStringBuilder(db.ConnectionString) { MaxPoolSize = 4 }.ConnectionString;
        await using var host = await ClockHost.StartAsync(smallPool);
        var tokens = sessions.ToDictionary(s => s, s => ClockHost.Token(s));

        using var client = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(30) };
        Task<HttpResponseMessage> Open(Guid session, bool stream)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, stream ? $"/clock/{session}/stream" : $"/clock/{session}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[session]);
            return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        }
        // A stream for every other session and a GET for every session, all at once.
        var opens = sessions.Select((s, i) => (s, stream: i % 2 == 0)).Concat(sessions.Select(s => (s, stream: false)))
            .OrderBy(_ => Random.Shared.Next()).Select(o => Open(o.s, o.stream)).ToList();
        var answers = await Task.WhenAll(opens);
        try
        {
            var statuses = answers.GroupBy(a => a.StatusCode).ToDictionary(g => g.Key, g => g.Count());
            Assert.That(statuses, Is.EqualTo(new Dictionary<HttpStatusCode, int> { [HttpStatusCode.OK] = answers.Length }),
                string.Join(", ", statuses.Select(s => $"{(int)s.Key}: {s.Value}")));

            var metrics = await host.Client.GetStringAsync("/metrics");
            var loads = Counter(metrics, "roomreconciler_clock_cache_loads_total");
            var loaded = Counter(metrics, "roomreconciler_clock_cache_loaded_sessions_total");
            TestContext.Out.WriteLine($"{answers.Length} opens of {Sessions} uncached sessions: {loads} loads of {loaded} sessions");
            Assert.That(loaded, Is.EqualTo(Sessions), "each session read once: a GET and a stream of one session share its read");
            Assert.That(loads, Is.LessThanOrEqualTo(answers.Length / 10), "the misses were read in batches");
        }
        finally
        {
            foreach (var answer in answers) answer.Dispose();
        }
    }

    [Test]
    public async Task AMissWaitingForItsRead_IsRefusedAtOnce_WhenTheListenerStopsVouching()
    {
        await using var db = await ClockDatabase.CreateAsync();
        var session = await db.NewSessionAsync();
        await using var host = await ClockHost.StartAsync(db.ConnectionString);
        // The read of the miss waits behind this lock, as a read on a busy (or silent) database would.
        await using var locker = await db.DataSource.OpenConnectionAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE", locker, transaction))
            await lockTable.ExecuteNonQueryAsync();

        var get = host.GetClockAsync(Guid.NewGuid());
        await Task.Delay(500);
        Assert.That(get.IsCompleted, Is.False, "the miss waits for its read while the listener vouches");
        var distrusted = System.Diagnostics.Stopwatch.StartNew();
        host.Cache.Distrust();
        using var answer = await get;
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(distrusted.Elapsed, Is.LessThan(TimeSpan.FromMilliseconds(500)), "refused at once, not at the end of the wait");
        Assert.That(answer.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        await transaction.RollbackAsync();
        // And right again once the read can run.
        await host.WaitUntilTrustedAsync();
        using var after = await host.GetClockAsync(session);
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private static long Counter(string metrics, string family)
    {
        var match = Regex.Match(metrics, $@"(?m)^{family} (\d+)");
        Assert.That(match.Success, Is.True, $"{family} on /metrics");
        return long.Parse(match.Groups[1].Value);
    }
}
