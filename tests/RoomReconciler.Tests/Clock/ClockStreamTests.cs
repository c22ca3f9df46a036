using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Clock;

/// <summary>GET /clock/{id}/stream: events on connect and on change, fan-out on one connection, reconnects, shutdown.</summary>
public sealed class ClockStreamTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private ClockDatabase _db = null!;
    private ClockHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _db = await ClockDatabase.CreateAsync();
        // ManySubscribers opens 30 streams per session, most with the same token.
        _host = await ClockHost.StartAsync(_db.ConnectionString, "--ClockApi:StreamHeartbeat=00:00:00.300", "--ClockApi:MaxStreamsPerToken=1000");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static JsonElement Clock((string Event, string Data)? message)
    {
        Assert.That(message, Is.Not.Null, "the stream ended");
        Assert.That(message!.Value.Event, Is.EqualTo("clock"));
        return JsonDocument.Parse(message.Value.Data).RootElement.Clone();
    }

    /// <summary>
    /// The next clock event that shows <paramref name="shows"/>. Events of older states may come first: a change
    /// committed just before the subscription can be notified just after it.
    /// </summary>
    private static async Task<JsonElement> NextClockAsync(SseReader stream, Func<JsonElement, bool> shows)
    {
        while (true)
        {
            var clock = Clock(await stream.NextAsync(Wait));
            if (shows(clock)) return clock;
        }
    }

    [Test]
    public async Task Stream_SendsTheSnapshotOnConnect_ThenAPauseWithin100ms()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, null);
        using var stream = await _host.SubscribeAsync(session);
        Assert.That(stream.Response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        Assert.That(stream.Response.Headers.CacheControl?.NoStore, Is.True);
        var first = Clock(await stream.NextAsync(Wait));
        Assert.That(first.GetProperty("session_id").GetString(), Is.EqualTo(session.ToString("D")));
        Assert.That(first.Paused(), Is.False);
        if (first.Time("started_at") is null) await NextClockAsync(stream, c => c.Time("started_at") is not null);

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            var function = i % 2 == 0 ? "pause" : "resume";
            await _db.TransitionAsync(function, session, null);
            var committed = Stopwatch.StartNew();
            var change = Clock(await stream.NextAsync(Wait));
            delays.Add(committed.Elapsed);
            Assert.That(change.Paused(), Is.EqualTo(function == "pause"), "the next event is the change");
        }
        Assert.That(delays.Max(), Is.LessThan(TimeSpan.FromMilliseconds(100)), string.Join(", ", delays.Select(d => d.TotalMilliseconds)));
    }

    [Test]
    public async Task Stream_SendsHeartbeatComments_WhenNothingChanges()
    {
        var session = await _db.NewSessionAsync();
        using var stream = await _host.SubscribeAsync(session);
        var first = Clock(await stream.NextAsync(Wait));
        var next = await AfterRepeatsAsync(stream, first, comments: true);
        Assert.That(next?.Data, Is.EqualTo(": heartbeat"));
    }

    /// <summary>
    /// The next message that is not the same clock again. The session's own INSERT notifies, and a stream opened
    /// before the listener has passed that notification on may get the same clock once more: allowed, where a
    /// changed clock is not.
    /// </summary>
    private static async Task<(string Event, string Data)?> AfterRepeatsAsync(SseReader stream, JsonElement first, bool comments = false)
    {
        var next = await stream.NextAsync(Wait, comments);
        while (next is { Event: "clock" } again)
        {
            Assert.That(StateOf(JsonDocument.Parse(again.Data).RootElement), Is.EqualTo(StateOf(first)), "nothing changed, so nothing new is told");
            next = await stream.NextAsync(Wait, comments);
        }
        return next;
    }

    private static string StateOf(JsonElement clock) =>
        $"{clock.GetProperty("started_at")} {clock.GetProperty("is_paused")} {clock.GetProperty("total_paused_ms")} {clock.GetProperty("last_state_change_at")}";

    [Test]
    public async Task Stream_OfAnUnknownSession_Is404_AndOfAMalformedId_Is400()
    {
        var unknown = Guid.NewGuid();
        using var notFound = await _host.GetAsync($"/clock/{unknown}/stream", ClockHost.Token(unknown));
        Assert.That(notFound.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        using var malformed = await _host.GetAsync("/clock/nope/stream", ClockHost.TokenForRoom("nope"));
        Assert.That(malformed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        using var anonymous = await _host.GetAsync($"/clock/{unknown}/stream", token: null);
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Stream_EndsWhenTheSessionIsDeleted()
    {
        var session = await _db.NewSessionAsync();
        using var stream = await _host.SubscribeAsync(session);
        var first = Clock(await stream.NextAsync(Wait));
        await using (var delete = _db.DataSource.CreateCommand("DELETE FROM sessions WHERE id = $1"))
        {
            delete.Parameters.AddWithValue(session);
            await delete.ExecuteNonQueryAsync();
        }
        Assert.That(await AfterRepeatsAsync(stream, first), Is.Null);
    }

    [Test]
    public async Task ManySubscribers_ShareTheOneListenerConnection()
    {
        var sessions = new List<Guid>();
        for (var i = 0; i < 10; i++) sessions.Add(await _db.NewSessionAsync());
        foreach (var s in sessions) (await _host.GetClockAsync(s)).Dispose(); // warm the cache
        var before = await BackendsAsync();

        using var client = new HttpClient { BaseAddress = _host.Address };
        var streams = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => _host.SubscribeAsync(sessions[i % sessions.Count], client)));
        try
        {
            foreach (var stream in streams) Clock(await stream.NextAsync(Wait));
            await _db.TransitionAsync("start", sessions[0], null);
            foreach (var stream in streams.Where((_, i) => i % sessions.Count == 0))
                await NextClockAsync(stream, c => c.Time("started_at") is not null);

            var during = await BackendsAsync();
            Assert.That(during.Listeners, Is.EqualTo(1));
            // What the host had open before the streams (the listener, the warm-up's pooled connection, a readiness
            // check or a Quartz check-in caught in flight) is its own business; 300 streams add nothing to it.
            Assert.That(during.All, Is.LessThanOrEqualTo(before.All), "subscribers opened database connections");
        }
        finally
        {
            foreach (var stream in streams) stream.Dispose();
        }
    }

    /// <summary>The host's backends on the test database: all of them (pooled and the listener), and the listener's.</summary>
    private async Task<(long All, long Listeners)> BackendsAsync()
    {
        await using var command = _db.DataSource.CreateCommand("""
            SELECT count(*) FILTER (WHERE application_name IN ($1, $2)), count(*) FILTER (WHERE application_name = $2)
            FROM pg_stat_activity WHERE datname = current_database()
            """);
        command.Parameters.AddWithValue(ClockHost.ApplicationName);
        command.Parameters.AddWithValue(ClockListener.ApplicationName);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    [Test]
    public async Task Shutdown_ClosesTheStreams()
    {
        await using var host = await ClockHost.StartAsync(_db.ConnectionString);
        var session = await _db.NewSessionAsync();
        using var stream = await host.SubscribeAsync(session);
        Clock(await stream.NextAsync(Wait));
        var stopped = Stopwatch.StartNew();
        await host.App.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        Assert.That(await stream.NextAsync(Wait), Is.Null);
        Assert.That(stopped.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }
}
