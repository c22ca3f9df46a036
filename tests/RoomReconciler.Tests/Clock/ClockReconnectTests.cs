using System.Text.Json;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Clock;

/// <summary>A database outage: the cache is distrusted, every stream is told and ends, the listener reconnects, and streams work again.</summary>
public sealed class ClockReconnectTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Test]
    public async Task ARestart_EndsEveryStreamWithUnavailable_AndAfterItStreamsAndChangesFlowAgain()
    {
        var cluster = TestDatabase.Cluster ?? throw new IgnoreException("needs the suite's own PostgreSQL cluster to restart it");
        await using var db = await ClockDatabase.CreateAsync();
        await using var host = await ClockHost.StartAsync(db.ConnectionString);
        var sessions = new[] { await db.NewSessionAsync(), await db.NewSessionAsync(), await db.NewSessionAsync() };
        await db.TransitionAsync("start", sessions[0], null);
        var streams = new List<SseReader>();
        try
        {
            foreach (var session in sessions)
                for (var i = 0; i < 4; i++) streams.Add(await host.SubscribeAsync(session));
            foreach (var stream in streams) Assert.That((await stream.NextAsync(Wait))?.Event, Is.EqualTo("clock"));

            // The test cluster runs with synchronous_commit=off, so an immediate stop would lose the last
            // commits (the sessions just made): have them written out first.
            await TestDatabase.ExecuteAsync(db.ConnectionString, "CHECKPOINT");
            await cluster.StopServerAsync();
            try
            {
                // While the listener is down, nothing is served from memory: the database is asked, and it is down.
                var deadline = DateTime.UtcNow + Wait;
                while (host.Cache.IsTrusted && DateTime.UtcNow < deadline) await Task.Delay(10);
                Assert.That(host.Cache.IsTrusted, Is.False);
                using var unavailable = await host.GetClockAsync(sessions[0]);
                Assert.That((int)unavailable.StatusCode, Is.EqualTo(503));
                Assert.That(unavailable.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
                // Every open stream is told, and ends: its client reconnects through the load balancer.
                var told = await Task.WhenAll(streams.Select(s => s.NextAsync(Wait)));
                Assert.That(told.Select(t => t?.Event), Is.All.EqualTo("unavailable"));
                Assert.That(JsonDocument.Parse(told[0]!.Value.Data).RootElement.GetProperty("retry_after_ms").GetInt32(), Is.EqualTo(1000));
                var ends = await Task.WhenAll(streams.Select(s => s.NextAsync(Wait)));
                Assert.That(ends, Is.All.Null);
                // A stream asked for meanwhile is refused: nothing would feed it.
                using var refused = await host.GetAsync($"/clock/{sessions[0]}/stream", ClockHost.Token(sessions[0]));
                Assert.That((int)refused.StatusCode, Is.EqualTo(503));
            }
            finally
            {
                await cluster.StartServerAsync();
                // Pooled connections (this test's and the suite's admin ones) were broken by the restart.
                Npgsql.NpgsqlConnection.ClearAllPools();
                db.DataSource.Clear();
            }

            await host.WaitUntilTrustedAsync(Wait);
            foreach (var stream in streams) stream.Dispose();
            streams.Clear();
            foreach (var session in sessions)
                for (var i = 0; i < 4; i++) streams.Add(await host.SubscribeAsync(session));
            var fresh = await Task.WhenAll(streams.Select(s => s.NextAsync(Wait)));
            Assert.That(fresh.Select(f => f?.Event), Is.All.EqualTo("clock"),
                "every new subscriber gets a snapshot after the reconnect: " + string.Join(" | ", fresh.Select(f => f?.ToString() ?? "end")));

            await db.TransitionAsync("pause", sessions[0], null);
            foreach (var stream in streams.Take(4))
            {
                var change = await stream.NextAsync(Wait);
                Assert.That(JsonDocument.Parse(change!.Value.Data).RootElement.Paused(), Is.True);
            }
            using var after = await host.GetClockAsync(sessions[0]);
            Assert.That((int)after.StatusCode, Is.EqualTo(200));
        }
        finally
        {
            foreach (var stream in streams) stream.Dispose();
        }
    }
}
