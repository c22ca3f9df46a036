using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using RoomReconciler.Events;
using RoomReconciler.Hosting;
using RoomReconciler.Tests.Scenarios;
using RoomReconciler.Tests.Support;
using static RoomReconciler.Tests.Scenarios.ScenarioHost;

namespace RoomReconciler.Tests.Events;

/// <summary>
/// Outbound events end to end: the real daemon (in this process, or as processes for kill -9), real PostgreSQL, and a
/// real receiver (tests/receiver, Node) that verifies every delivery with the standardwebhooks npm package. Time is
/// compressed: the retry schedule is a few hundred milliseconds a step, so "down for minutes" is down for seconds
/// across as many retries as minutes would see.
/// </summary>
[NonParallelizable]
public sealed partial class EventDeliveryTests
{
    /// <summary>Fifteen retries 400 ms apart: an outage of a few seconds spans many of them, and none dies of it.</summary>
    private static readonly string[] Schedule = [.. Enumerable.Repeat("00:00:00.400", 15)];

    private ScenarioHost _host = null!;
    private readonly List<Receiver> _receivers = [];
    private readonly List<WebApplication> _apps = [];

    [TearDown]
    public async Task StopAsync()
    {
        foreach (var app in _apps) { await app.StopAsync(); await app.DisposeAsync(); }
        _apps.Clear();
        foreach (var r in _receivers) await r.DisposeAsync();
        _receivers.Clear();
        await _host.DisposeAsync();
    }

    private static string[] EventArgs(string url, IReadOnlyList<string>? schedule = null) =>
    [
        "--Events:Endpoints:0:Url=" + url,
        "--Events:Endpoints:0:Secret=" + Receiver.Secret,
        "--Events:Timeout=00:00:01",
        "--Events:PollInterval=00:00:00.500",
        .. (schedule ?? Schedule).Select((delay, i) => $"--Events:RetrySchedule:{i}={delay}"),
    ];

    private async Task<Receiver> ReceiverAsync(int port = 0)
    {
        var receiver = await Receiver.StartAsync(port);
        _receivers.Add(receiver);
        return receiver;
    }

    /// <summary>A daemon in this process with the events configuration (webhooks off, a slow poll: only the API moves clocks).</summary>
    private async Task<WebApplication> DaemonAsync(params string[] args)
    {
        var app = DaemonHost.Build(_host.DaemonArgs(args));
        await app.StartAsync();
        _apps.Add(app);
        return app;
    }

    /// <summary>start, pause, resume, end by the application's own SQL (session_clock_*); the commit times of each.</summary>
    private async Task<List<DateTime>> LifecycleAsync(Guid session)
    {
        var committed = new List<DateTime>();
        foreach (var step in new[] { "start", "pause", "resume", "end" })
        {
            Assert.That((await _host.Db.TransitionAsync(step, session, null)).Changed(), Is.True, step);
            committed.Add(DateTime.UtcNow);
        }
        return committed;
    }

    private static async Task<IReadOnlyList<Delivery>> UntilAsync(Receiver receiver, Func<IReadOnlyList<Delivery>, bool> condition, TimeSpan timeout, string what) =>
        await Eventually.Async(receiver.DeliveriesAsync, condition, timeout, what);

    /// <summary>What an application applies: each session's acknowledged events, deduplicated on webhook-id, in arrival order.</summary>
    private static List<(Guid Session, long Sequence)> Applied(IEnumerable<Delivery> deliveries) =>
        deliveries.Where(d => d.Acknowledged).DistinctBy(d => d.Id).Select(d => (d.Session, d.Sequence)).ToList();

    private static void AssertVerified(IEnumerable<Delivery> deliveries)
    {
        foreach (var d in deliveries)
            Assert.That(d.Verified, Is.True, $"the standardwebhooks package verifies delivery {d.Id}: {d.Error}");
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var command = _host.Db.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    [Test]
    public async Task HealthyReceiver_GetsEachTransitionWithinASecond_Signed_InOrder_WithThePayload()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        await DaemonAsync(EventArgs(receiver.Url));
        await Task.Delay(500); // the endpoints synced at start
        var session = await _host.NewSessionAsync();

        var committed = await LifecycleAsync(session);
        var deliveries = await UntilAsync(receiver, d => d.Count >= 4, TimeSpan.FromSeconds(5), "four deliveries");

        AssertVerified(deliveries);
        Assert.That(deliveries.Select(d => (d.Type, d.Sequence)), Is.EqualTo(new[]
            { ("session.started", 1L), ("session.paused", 2L), ("session.resumed", 3L), ("session.ended", 4L) }));
        for (var i = 0; i < 4; i++)
            Assert.That(DateTime.UnixEpoch.AddMilliseconds(deliveries[i].ReceivedAt) - committed[i], Is.LessThan(TimeSpan.FromSeconds(1)),
                $"event {i + 1} received within a second of its commit");
        Assert.That(deliveries.Select(d => d.Id).Distinct().Count(), Is.EqualTo(4));
        Assert.That(deliveries.Select(d => d.Signature), Has.All.Match("^v1,[A-Za-z0-9+/=]+$"));

        var ended = deliveries[3].Payload;
        var data = ended.GetProperty("data");
        Assert.That(data.GetProperty("session_id").GetString(), Is.EqualTo(session.ToString("D")));
        Assert.That(data.GetProperty("source").GetString(), Is.EqualTo("api"));
        Assert.That(data.GetProperty("reason").GetString(), Is.EqualTo("test"));
        Assert.That(ended.GetProperty("timestamp").GetString(), Is.EqualTo(data.GetProperty("effective_at").GetString()));
        var clock = data.GetProperty("clock");
        Assert.That(clock.GetProperty("ended_at").GetString(), Is.EqualTo(data.GetProperty("effective_at").GetString()), "the snapshot after the transition");
        Assert.That(clock.GetProperty("session_id").GetString(), Is.EqualTo(session.ToString("D")));
        Assert.That(await ScalarAsync("SELECT count(*) FROM roomreconciler.event_deliveries WHERE acknowledged_at IS NULL"), Is.Zero);
    }

    [Test]
    public async Task ReceiverFailingThenDown_ThenBack_LosesNothing_KeepsOrder_AndRetriesUnderOneWebhookId()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        await DaemonAsync(EventArgs(receiver.Url));
        await Task.Delay(500);
        var sessions = new List<Guid>();
        for (var i = 0; i < 3; i++) sessions.Add(await _host.NewSessionAsync());

        await receiver.AnswerAsync(503); // up, and failing
        foreach (var s in sessions) await _host.Db.TransitionAsync("start", s, null);
        var failed = await UntilAsync(receiver, d => d.Count(x => x.Status == 503) >= 9, TimeSpan.FromSeconds(5), "three failed attempts per session");
        var port = receiver.Port;
        await receiver.DisposeAsync(); // and down: connections refused
        _receivers.Remove(receiver);
        foreach (var s in sessions) { await _host.Db.TransitionAsync("pause", s, null); await _host.Db.TransitionAsync("resume", s, null); }
        await Task.Delay(TimeSpan.FromSeconds(2)); // several retries refused
        Assert.That(await ScalarAsync("SELECT max(attempts) FROM roomreconciler.event_deliveries"), Is.GreaterThanOrEqualTo(5), "retried while down");

        var back = await ReceiverAsync(port);
        var delivered = await UntilAsync(back, d => Applied(d).Count == 9, TimeSpan.FromSeconds(10), "all nine events once the receiver is back");

        AssertVerified(failed.Concat(delivered));
        foreach (var s in sessions)
            Assert.That(Applied(delivered).Where(a => a.Session == s).Select(a => a.Sequence), Is.EqualTo(new[] { 1L, 2L, 3L }), "in order, nothing lost");
        foreach (var attempts in failed.Concat(delivered).GroupBy(d => (d.Session, d.Sequence)))
            Assert.That(attempts.Select(a => a.Id).Distinct().Count(), Is.EqualTo(1), $"one webhook-id for every attempt of {attempts.Key}");
        Assert.That(failed.Where(d => d.Sequence > 1), Is.Empty, "no session's second event was attempted before its first was acknowledged");
    }

    [Test]
    public async Task Kill9OfTheDaemonDuringAnOutage_LosesNothing()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        var port = receiver.Port;
        await receiver.DisposeAsync(); // down from the start; the daemon sends where it will come back
        _receivers.Remove(receiver);
        var args = _host.DaemonArgs(EventArgs($"http://127.0.0.1:{port}/events"));
        var first = await DaemonProcess.StartAsync(args);
        await Task.Delay(500);
        var sessions = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var s = await _host.NewSessionAsync();
            sessions.Add(s);
            await LifecycleAsync(s);
        }
        await Eventually.Async(() => ScalarAsync("SELECT count(*) FROM roomreconciler.event_deliveries WHERE attempts >= 2"),
            n => n >= 3, TimeSpan.FromSeconds(5), "attempts refused while the receiver is down");
        first.Kill();
        await first.DisposeAsync();

        await using var second = await DaemonProcess.StartAsync(args);
        var back = await ReceiverAsync(port);
        var delivered = await UntilAsync(back, d => Applied(d).Count == 12, TimeSpan.FromSeconds(15), "all twelve events after the kill");

        AssertVerified(delivered);
        foreach (var s in sessions)
            Assert.That(Applied(delivered).Where(a => a.Session == s).Select(a => a.Sequence), Is.EqualTo(new[] { 1L, 2L, 3L, 4L }));
    }

    [Test]
    public async Task AnAnswerLaterThanTheTimeout_IsAFailure_RetriedUnderTheSameWebhookId()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        var daemon = await DaemonAsync(EventArgs(receiver.Url));
        await Task.Delay(500);
        await receiver.AnswerAsync(200, delay: TimeSpan.FromSeconds(2)); // Events:Timeout is 1 s

        await _host.Db.TransitionAsync("start", await _host.NewSessionAsync(), null);
        await UntilAsync(receiver, d => d.Count >= 2, TimeSpan.FromSeconds(5), "a second attempt after the first timed out");
        await receiver.AnswerAsync(200);
        var deliveries = await UntilAsync(receiver, d => d.Count >= 3, TimeSpan.FromSeconds(5), "an attempt answered in time");
        await Eventually.Async(() => ScalarAsync("SELECT count(*) FROM roomreconciler.event_deliveries WHERE acknowledged_at IS NOT NULL"),
            n => n == 1, TimeSpan.FromSeconds(3), "acknowledged");

        AssertVerified(deliveries);
        Assert.That(deliveries.Select(d => d.Id).Distinct().Count(), Is.EqualTo(1), "every attempt is the same event");
        Assert.That(deliveries.Select(d => d.Timestamp), Is.Ordered, "each attempt signed with its own time");
        Assert.That(await MetricsAsync(daemon), Does.Contain("roomreconciler_events_failed_total{endpoint=\"0\",reason=\"timeout\"}"));
    }

    [Test]
    public async Task PostgresRestart_DuringRetries_IsALineAMetricAndAPacedRetry_AndNothingIsLost()
    {
        Assume.That(TestDatabase.Cluster, Is.Not.Null, "needs the suite's own cluster to restart");
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        var daemon = await DaemonAsync(EventArgs(receiver.Url));
        await Task.Delay(500);
        var session = await _host.NewSessionAsync();
        await receiver.AnswerAsync(503);
        await LifecycleAsync(session);

        var away = System.Diagnostics.Stopwatch.StartNew();
        await TestDatabase.Cluster!.StopServerAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await TestDatabase.Cluster.StartServerAsync();
        away.Stop();
        _host.Db.DataSource.Clear();
        await receiver.AnswerAsync(200);

        var deliveries = await UntilAsync(receiver, d => Applied(d).Count == 4, TimeSpan.FromSeconds(10), "the four events after the restart");
        Assert.That(Applied(deliveries).Select(a => a.Sequence), Is.EqualTo(new[] { 1L, 2L, 3L, 4L }));
        AssertVerified(deliveries);
        var errors = MetricLine().Match(await MetricsAsync(daemon));
        // A pass that fails waits Events:PollInterval (0.5 s) before the next: at most one failure per 0.5 s away, and a few in flight.
        Assert.That(errors.Success ? double.Parse(errors.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0,
            Is.InRange(1, away.Elapsed.TotalSeconds / 0.5 + 3), $"failed passes counted, and paced, while the database was away for {away.Elapsed.TotalSeconds:F1} s");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^roomreconciler_events_database_errors_total (\S+)$", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex MetricLine();

    /// <summary>The daemon's /metrics text.</summary>
    private static async Task<string> MetricsAsync(WebApplication daemon)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(daemon.Urls.First() + "/metrics");
    }

    [Test]
    public async Task OneSessionsFailures_HoldUpNoOtherSession_AndItsLaterEventsWait()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        await DaemonAsync(EventArgs(receiver.Url));
        await Task.Delay(500);
        var failing = await _host.NewSessionAsync();
        var healthy = new List<Guid>();
        for (var i = 0; i < 3; i++) healthy.Add(await _host.NewSessionAsync());
        await receiver.AnswerAsync(200, [failing]);

        await LifecycleAsync(failing);
        foreach (var s in healthy) await LifecycleAsync(s);
        var deliveries = await UntilAsync(receiver, d => Applied(d).Count == 12 && d.Count(x => x.Session == failing) >= 3,
            TimeSpan.FromSeconds(5), "the healthy sessions delivered while the failing one retries");

        Assert.That(deliveries.Where(d => d.Session == failing).Select(d => d.Sequence).Distinct(), Is.EqualTo(new[] { 1L }),
            "the failing session's later events wait behind its first");
        await receiver.AnswerAsync(200);
        deliveries = await UntilAsync(receiver, d => Applied(d).Count == 16, TimeSpan.FromSeconds(5), "the failing session once it is accepted");
        Assert.That(Applied(deliveries).Where(a => a.Session == failing).Select(a => a.Sequence), Is.EqualTo(new[] { 1L, 2L, 3L, 4L }));
        AssertVerified(deliveries);
    }

    [Test]
    public async Task AHeadWaitingForItsRetry_WithLaterEventsQueued_LeavesTheDeliveryIdle()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        await DaemonAsync(EventArgs(receiver.Url, ["00:00:10"]));
        await Task.Delay(500);
        await receiver.AnswerAsync(500);
        await LifecycleAsync(await _host.NewSessionAsync());
        await UntilAsync(receiver, d => d.Count == 1, TimeSpan.FromSeconds(3), "the first attempt, failed: its retry is 10 s away");
        await Task.Delay(1500); // statistics of what ran so far flushed

        var before = await ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var during = await ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()") - before;
        Assert.That(during, Is.LessThan(60), "a pass per Events:PollInterval (0.5 s) and the backlog every 5 s, not a loop on the events queued behind the head");
        Assert.That(await receiver.DeliveriesAsync(), Has.Count.EqualTo(1), "nothing else attempted");
    }

    [Test]
    public async Task TwoReplicas_AcknowledgeEachEventOnce()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        await DaemonAsync(EventArgs(receiver.Url));
        await DaemonAsync(EventArgs(receiver.Url));
        await Task.Delay(500);
        var sessions = new List<Guid>();
        for (var i = 0; i < 20; i++) sessions.Add(await _host.NewSessionAsync());

        await Task.WhenAll(sessions.Select(LifecycleAsync));
        var deliveries = await UntilAsync(receiver, d => Applied(d).Count == 80, TimeSpan.FromSeconds(10), "eighty events");
        await Task.Delay(1000); // a second delivery of any of them would come now

        deliveries = await receiver.DeliveriesAsync();
        AssertVerified(deliveries);
        Assert.That(deliveries, Has.Count.EqualTo(80), "each event POSTed once, by one replica");
        foreach (var s in sessions)
            Assert.That(deliveries.Where(d => d.Session == s).Select(d => d.Sequence), Is.EqualTo(new[] { 1L, 2L, 3L, 4L }));
    }

    [Test]
    public async Task TransitionsOfTheReconciler_TheWebhookPath_AndTheApplicationsSql_AreAllDelivered()
    {
        // Webhooks alone first (the first tick runs at start, then none for ten minutes).
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: true);
        var receiver = await ReceiverAsync();
        var webhookDaemon = await DaemonAsync(EventArgs(receiver.Url));
        _host.LiveKit.Webhooks.Url = webhookDaemon.Urls.First() + "/livekit/webhook";
        await Task.Delay(500);
        var byWebhook = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(byWebhook), "customer");
        _host.LiveKit.Rooms.Join(Room(byWebhook), "mechanic");
        await _host.UntilClockAsync(byWebhook, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(3), "the start by webhook");
        await _apps[0].StopAsync();

        // Then the poll alone.
        _host.LiveKit.Webhooks.Url = null;
        await DaemonAsync([.. EventArgs(receiver.Url), "--Reconciler:PollInterval=00:00:00.250"]);
        var byPoll = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(byPoll), "customer");
        _host.LiveKit.Rooms.Join(Room(byPoll), "mechanic");
        await _host.UntilClockAsync(byPoll, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(3), "the start by poll");

        var byApplication = await _host.NewSessionAsync();
        await _host.Db.TransitionAsync("start", byApplication, null);

        var deliveries = await UntilAsync(receiver, d => Applied(d).Count == 3, TimeSpan.FromSeconds(5), "three starts");
        AssertVerified(deliveries);
        Assert.That(deliveries.Select(d => (d.Session, d.Source)), Is.EquivalentTo(new[] { (byWebhook, "webhook"), (byPoll, "poll"), (byApplication, "api") }));
    }

    [Test]
    public async Task Gone_DisablesTheEndpoint_AndReplayEnablesItAndSendsAgain()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        var daemon = await DaemonAsync(EventArgs(receiver.Url));
        await Task.Delay(500);
        var session = await _host.NewSessionAsync();
        await receiver.AnswerAsync(410);

        await _host.Db.TransitionAsync("start", session, null);
        await Eventually.Async(() => ScalarAsync("SELECT count(*) FROM roomreconciler.event_endpoints WHERE disabled_at IS NOT NULL"),
            n => n == 1, TimeSpan.FromSeconds(3), "the endpoint disabled");
        await _host.Db.TransitionAsync("pause", session, null);
        await Task.Delay(1000);
        Assert.That(await receiver.DeliveriesAsync(), Has.Count.EqualTo(1), "nothing more is sent to a disabled endpoint");
        Assert.That(await ScalarAsync("SELECT count(*) FROM roomreconciler.event_outbox"), Is.EqualTo(1), "nor written for it");
        Assert.That(await MetricsAsync(daemon), Does.Contain("roomreconciler_events_endpoint_disabled_total{endpoint=\"0\"} 1"));

        var (status, output) = await EventsAsync("status");
        Assert.That(status, Is.Zero);
        Assert.That(output, Does.Contain("DISABLED").And.Contain("backlog=1"));

        await receiver.AnswerAsync(200);
        (status, output) = await EventsAsync("replay", "--endpoint", "0", "--since", "1");
        Assert.That((status, output), Is.EqualTo((0, "endpoint 0: 1 deliveries due again\n")));
        var deliveries = await UntilAsync(receiver, d => Applied(d).Count == 1, TimeSpan.FromSeconds(3), "the held event sent once enabled");
        Assert.That(deliveries.Select(d => d.Id).Distinct().Count(), Is.EqualTo(1), "the same event, the same webhook-id");
        AssertVerified(deliveries);
    }

    [Test]
    public async Task DeadEvents_AreKeptListedAndReplayed_AndReplaySinceASequenceSendsAgain()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var receiver = await ReceiverAsync();
        await DaemonAsync(EventArgs(receiver.Url, ["00:00:00.100", "00:00:00.100"]));
        await Task.Delay(500);
        var session = await _host.NewSessionAsync();
        await receiver.AnswerAsync(500);

        await LifecycleAsync(session);
        await Eventually.Async(() => ScalarAsync("SELECT count(*) FROM roomreconciler.event_deliveries WHERE dead_at IS NOT NULL"),
            n => n == 1, TimeSpan.FromSeconds(3), "the first event dead after three attempts");
        await Task.Delay(500);
        var attempts = await receiver.DeliveriesAsync();
        Assert.That(attempts.Select(d => d.Sequence), Is.EqualTo(new[] { 1L, 1L, 1L }), "three attempts of the first event; the others wait behind it");
        var (status, output) = await EventsAsync("status");
        Assert.That(status, Is.Zero);
        Assert.That(output, Does.Contain("dead=1").And.Contain($"session={session:D} sequence=1 type=session.started").And.Contain("attempts=3 last=500"));

        await receiver.AnswerAsync(200);
        Assert.That(await EventsAsync("replay", "--endpoint", "0", "--since", DateTime.UtcNow.AddMinutes(-5).ToString("O")),
            Is.EqualTo((0, "endpoint 0: 4 deliveries due again\n")));
        var deliveries = await UntilAsync(receiver, d => Applied(d).Count == 4, TimeSpan.FromSeconds(3), "the dead event and those behind it");
        Assert.That(Applied(deliveries).Select(a => a.Sequence), Is.EqualTo(new[] { 1L, 2L, 3L, 4L }));

        Assert.That(await EventsAsync("replay", "--endpoint", "0", "--since", "3"), Is.EqualTo((0, "endpoint 0: 2 deliveries due again\n")));
        deliveries = await UntilAsync(receiver, d => d.Count(x => x.Acknowledged) == 6, TimeSpan.FromSeconds(3), "3 and 4 again");
        Assert.That(deliveries.Where(d => d.Acknowledged).Skip(4).Select(d => d.Sequence), Is.EqualTo(new[] { 3L, 4L }));
        Assert.That(deliveries.Where(d => d.Sequence == 3).Select(d => d.Id).Distinct().Count(), Is.EqualTo(1), "a replay keeps the webhook-id");
        AssertVerified(deliveries);
    }

    [TestCase("replay", "--endpoint", "0", "--since", "yesterday", ExpectedResult = 2)]
    [TestCase("replay", "--endpoint", "x", "--since", "1", ExpectedResult = 2)]
    [TestCase("replay", "--since", "1", ExpectedResult = 2)]
    [TestCase("replay", "--endpoint", "7", "--since", "1", ExpectedResult = 1)]
    [TestCase("frobnicate", ExpectedResult = 2)]
    public async Task<int> Events_BadUsage_IsRefusedAndChangesNothing(params string[] words)
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        var (status, _) = await EventsAsync(words);
        Assert.That(await ScalarAsync("SELECT count(*) FROM roomreconciler.event_endpoints"), Is.Zero);
        return status;
    }

    [Test]
    public async Task TheExecutable_RunsEventsStatusAndReplay_AndPrintsItsUsage()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        await TestDatabase.ExecuteAsync(_host.Db.ConnectionString, "INSERT INTO roomreconciler.event_endpoints (id, url) VALUES (0, 'https://app.example/hooks')");
        var database = "--ConnectionStrings:Postgres=" + _host.Db.ConnectionString;

        var status = await Operations.DaemonCommand.RunAsync(["events", "status", database]);
        Assert.That((status.ExitCode, status.Output), Is.EqualTo((0, "endpoint 0 https://app.example/hooks: backlog=0 dead=0 oldest_undelivered=none")));
        var replay = await Operations.DaemonCommand.RunAsync(["events", "replay", "--endpoint", "0", "--since", "2026-12-01T00:00:00Z", database]);
        Assert.That((replay.ExitCode, replay.Output), Is.EqualTo((0, "endpoint 0: 0 deliveries due again")));
        var usage = await Operations.DaemonCommand.RunAsync(["events", database]);
        Assert.That(usage.ExitCode, Is.EqualTo(2));
        Assert.That(usage.Output, Does.Contain("events: missing subcommand").And.Contain("replay --endpoint N --since <time|sequence>"));
    }

    [Test]
    public async Task NoEndpointConfigured_WritesNothing()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10), webhooks: false);
        await DaemonAsync();
        await Task.Delay(300);
        await LifecycleAsync(await _host.NewSessionAsync());
        Assert.That(await ScalarAsync("SELECT count(*) FROM roomreconciler.event_outbox"), Is.Zero);
        Assert.That(await ScalarAsync("SELECT count(*) FROM roomreconciler.event_deliveries"), Is.Zero);
        Assert.That(await ScalarAsync("SELECT count(*) FROM roomreconciler.session_events"), Is.EqualTo(4), "the clock itself moved");
    }

    private async Task<(int Status, string Output)> EventsAsync(params string[] words)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var status = await EventsCommand.RunAsync(_host.Db.ConnectionString, words, output, error);
        return (status, output.ToString() + error);
    }
}
