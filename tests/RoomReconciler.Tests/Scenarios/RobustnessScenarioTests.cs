using LiveKitSimulator;
using RoomReconciler.Tests.Support;
using static RoomReconciler.Tests.Scenarios.ScenarioHost;

namespace RoomReconciler.Tests.Scenarios;

/// <summary>What the acceptance scenarios do not cover: who counts, outages, crashes, replicas, webhooks and polls alone.</summary>
[NonParallelizable]
public sealed class RobustnessScenarioTests
{
    private ScenarioHost _host = null!;

    [TearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    private async Task<(Guid Session, DateTime StartedAt)> RunningSessionAsync()
    {
        var session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        _host.LiveKit.Rooms.Join(Room(session), "mechanic");
        var clock = await _host.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(5), "the start");
        return (session, clock.Time("started_at")!.Value);
    }

    [Test]
    public async Task AgentsEgressAndHiddenParticipants_NeverKeepAClockRunning()
    {
        _host = await ScenarioHost.CreateAsync();
        await _host.StartDaemonAsync();
        var lonely = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(lonely), "customer");
        _host.LiveKit.Rooms.Join(Room(lonely), "assistant", ParticipantKind.Agent);
        _host.LiveKit.Rooms.Join(Room(lonely), "recorder", ParticipantKind.Egress);
        _host.LiveKit.Rooms.Join(Room(lonely), "supervisor", hidden: true);

        var (session, _) = await RunningSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "assistant", ParticipantKind.Agent);
        _host.LiveKit.Rooms.Join(Room(session), "recorder", ParticipantKind.Egress);
        _host.LiveKit.Rooms.Join(Room(session), "supervisor", hidden: true);
        var left = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");

        var paused = await _host.UntilClockAsync(session, c => c.Paused(), Grace + TimeSpan.FromSeconds(3), "the pause");
        Assert.That(paused.Time("last_state_change_at"), Is.InRange(left + Grace, left + Grace + TimeSpan.FromMilliseconds(400)));
        Assert.That((await _host.ClockAsync(lonely)).Time("started_at"), Is.Null, "agent, egress and hidden never start a clock");
    }

    [Test]
    public async Task LiveKitOutageLongerThanTheGrace_PausesNothing()
    {
        _host = await ScenarioHost.CreateAsync();
        await _host.StartDaemonAsync();
        var (session, _) = await RunningSessionAsync();

        _host.LiveKit.Faults.Inject(FaultKind.Unavailable);
        await Task.Delay(Grace / 2 + TimeSpan.FromSeconds(1));
        _host.LiveKit.Faults.Clear();
        _host.LiveKit.Faults.Inject(FaultKind.Hang, delay: TimeSpan.FromSeconds(30));
        await Task.Delay(Grace / 2 + TimeSpan.FromSeconds(1));
        _host.LiveKit.Faults.Clear();
        await Task.Delay(Poll * 4);

        var clock = await _host.ClockAsync(session);
        Assert.That(clock.Paused(), Is.False, "unknown is not zero: an unreadable LiveKit pauses nothing");
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started" }));
        Assert.That(_host.LiveKit.Calls["ListRooms"], Is.GreaterThan(4), "the daemon kept polling through the outage");
    }

    [Test]
    public async Task PostgresRestartMidRun_IsSurvived_AndTheNextTickCatchesUp()
    {
        Assume.That(TestDatabase.Cluster, Is.Not.Null, "needs the suite's own cluster to restart");
        _host = await ScenarioHost.CreateAsync();
        await _host.StartDaemonAsync();
        var (session, _) = await RunningSessionAsync();

        await TestDatabase.Cluster!.StopServerAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer"); // while the database is away
        await Task.Delay(TimeSpan.FromSeconds(2));
        await TestDatabase.Cluster.StartServerAsync();
        _host.Db.DataSource.Clear(); // the test's own pooled connections died with the server

        var paused = await _host.UntilClockAsync(session, c => c.Paused(), Grace + TimeSpan.FromSeconds(15), "the pause after the restart");
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        await _host.UntilClockAsync(session, c => !c.Paused(), TimeSpan.FromSeconds(5), "the resume");
        var events = await _host.Db.EventsAsync(session);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "started", "paused", "resumed" }), "nothing lost, nothing doubled");
        Assert.That(paused.Elapsed(), Is.GreaterThan(0));
    }

    [Test]
    public async Task Kill9DuringAGrace_AfterRestartThePauseIsStillAtDeparturePlusGrace()
    {
        _host = await ScenarioHost.CreateAsync();
        var daemon = await _host.StartDaemonProcessAsync();
        var (session, _) = await RunningSessionAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");
        var belowSince = await Eventually.Async(() => BelowSinceAsync(session), b => b is not null, TimeSpan.FromSeconds(3), "the grace to start");

        daemon.Kill();
        await Task.Delay(Grace + TimeSpan.FromSeconds(1)); // the deadline passes while nobody runs
        Assert.That((await _host.ClockAsync(session)).Paused(), Is.False);
        await _host.StartDaemonProcessAsync();

        var paused = await _host.UntilClockAsync(session, c => c.Paused(), TimeSpan.FromSeconds(15), "the pause after the restart");
        Assert.That(paused.Time("last_state_change_at"), Is.EqualTo(belowSince!.Value + Grace), "the grace survived the crash");
    }

    [Test]
    public async Task ThreeReplicasOnOneDatabase_LogEveryTransitionExactlyOnce()
    {
        _host = await ScenarioHost.CreateAsync();
        for (var i = 0; i < 3; i++) await _host.StartDaemonProcessAsync();
        var sessions = new List<Guid>();
        for (var i = 0; i < 4; i++) sessions.Add((await RunningSessionAsync()).Session);
        foreach (var s in sessions) _host.LiveKit.Rooms.Leave(Room(s), "customer");
        foreach (var s in sessions) await _host.UntilClockAsync(s, c => c.Paused(), Grace + TimeSpan.FromSeconds(5), "the pause");
        foreach (var s in sessions) _host.LiveKit.Rooms.Join(Room(s), "customer");
        foreach (var s in sessions) await _host.UntilClockAsync(s, c => !c.Paused(), TimeSpan.FromSeconds(5), "the resume");
        await Task.Delay(Poll * 8); // give a doubled transition the time to show

        foreach (var s in sessions)
            Assert.That((await _host.Db.EventsAsync(s)).Select(e => e.Type), Is.EqualTo(new[] { "started", "paused", "resumed" }));
    }

    [Test]
    public async Task ASecondReplicaStarting_LeavesOnePollAPollInterval()
    {
        // A replica that starts declares the poll's trigger again. Replacing it outright while the first replica held
        // its next firing left two cadences, one per replica: two ticks a poll interval, twice the ListRooms and
        // verification calls, for as long as both ran. The second starts within a few seconds, mid-interval.
        var poll = TimeSpan.FromSeconds(5);
        _host = await ScenarioHost.CreateAsync(poll: poll);
        await _host.StartDaemonProcessAsync();
        await _host.StartDaemonProcessAsync();
        await Task.Delay(poll);
        var before = _host.LiveKit.Calls["ListRooms"];
        const int Polls = 6;
        await Task.Delay(poll * Polls);

        Assert.That(_host.LiveKit.Calls["ListRooms"] - before, Is.InRange(Polls - 1, Polls + 1), "one tick a poll interval, for both replicas together");
    }

    [Test]
    public async Task WebhooksAlone_TransitionsLandWithinASecond()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromMinutes(10)); // the first tick runs at start, then none
        await _host.StartDaemonAsync();
        await Task.Delay(500);
        var session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        _host.LiveKit.Rooms.Join(Room(session), "mechanic");
        var started = await _host.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(2), "the start");
        var left = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");
        await _host.UntilClockAsync(session, c => c.Paused(), Grace + TimeSpan.FromSeconds(2), "the pause");
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        await _host.UntilClockAsync(session, c => !c.Paused(), TimeSpan.FromSeconds(2), "the resume");

        var events = await _host.Db.EventsAsync(session);
        Assert.That(events.Select(e => (e.Type, e.Source)), Is.EqualTo(new[] { ("started", "webhook"), ("paused", "webhook"), ("resumed", "webhook") }));
        var lags = await LagsAsync(session);
        Assert.That(lags, Has.All.LessThan(TimeSpan.FromSeconds(1)), "each transition written within 1 s of its effective time");
        Assert.That(events[1].EffectiveAt, Is.InRange(left + Grace, left + Grace + TimeSpan.FromSeconds(1)));
        Assert.That(started.Time("started_at"), Is.EqualTo(_host.JoinedAt(session, "mechanic")).Within(TimeSpan.FromMilliseconds(1)));
    }

    [Test]
    public async Task PollingAlone_EffectiveTimesWithinOnePollInterval()
    {
        _host = await ScenarioHost.CreateAsync(webhooks: false);
        _host.LiveKit.Webhooks.Enabled = false;
        var daemon = await _host.StartDaemonAsync();
        var (session, startedAt) = await RunningSessionAsync();
        Assert.That(startedAt, Is.EqualTo(_host.JoinedAt(session, "mechanic")).Within(TimeSpan.FromMilliseconds(1)));

        var left = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");
        var paused = await _host.UntilClockAsync(session, c => c.Paused(), Grace + TimeSpan.FromSeconds(2), "the pause");
        Assert.That(paused.Time("last_state_change_at"), Is.InRange(left + Grace, left + Grace + Poll + TimeSpan.FromMilliseconds(50)));

        _host.LiveKit.Rooms.Join(Room(session), "customer");
        var resumed = await _host.UntilClockAsync(session, c => !c.Paused(), TimeSpan.FromSeconds(2), "the resume");
        Assert.That(resumed.Time("last_state_change_at"), Is.EqualTo(_host.JoinedAt(session, "customer")).Within(TimeSpan.FromMilliseconds(1)));
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Source), Has.All.EqualTo("poll"));

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(daemon + "/metrics");
        Assert.That(metrics, Does.Match(@"roomreconciler_clock_transitions_total\{kind=""paused"",source=""poll""\} [1-9]"));
        Assert.That(metrics, Does.Match(@"roomreconciler_reconcile_ticks_total [1-9]"));
        Assert.That(metrics, Does.Match(@"roomreconciler_livekit_calls_total\{method=""ListRooms""\} [1-9]"));
    }

    private async Task<DateTime?> BelowSinceAsync(Guid session)
    {
        await using var command = _host.Db.DataSource.CreateCommand("SELECT below_since FROM roomreconciler.session_presence WHERE session_id = $1");
        command.Parameters.AddWithValue(session);
        return await command.ExecuteScalarAsync() is DateTime t ? t : null;
    }

    private async Task<List<TimeSpan>> LagsAsync(Guid session)
    {
        await using var command = _host.Db.DataSource.CreateCommand(
            "SELECT created_at - effective_at FROM roomreconciler.session_events WHERE session_id = $1 ORDER BY id");
        command.Parameters.AddWithValue(session);
        await using var reader = await command.ExecuteReaderAsync();
        var lags = new List<TimeSpan>();
        while (await reader.ReadAsync()) lags.Add(reader.GetTimeSpan(0));
        return lags;
    }
}
