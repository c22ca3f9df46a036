using RoomReconciler.Tests.Support;
using static RoomReconciler.Tests.Scenarios.ScenarioHost;

namespace RoomReconciler.Tests.Scenarios;

/// <summary>
/// The product's five acceptance scenarios (a normal session, a grace period, a quick reconnect, a rapid refresh,
/// a second device), scaled 1:10 (grace 30 s → 3 s), through the real daemon, the simulator and PostgreSQL,
/// with webhooks and polling both on as in production.
/// </summary>
[NonParallelizable]
public sealed class AcceptanceScenarioTests
{
    private ScenarioHost _host = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _host = await ScenarioHost.CreateAsync();
        await _host.StartDaemonAsync();
    }

    [TearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    /// <summary>Both join; the clock starts at the moment the second joined.</summary>
    private async Task<(Guid Session, DateTime StartedAt)> BothJoinAsync()
    {
        var session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        await Task.Delay(100);
        _host.LiveKit.Rooms.Join(Room(session), "mechanic");
        var clock = await _host.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(3), "the clock to start");
        var startedAt = clock.Time("started_at")!.Value;
        Assert.That(startedAt, Is.EqualTo(_host.JoinedAt(session, "mechanic")).Within(TimeSpan.FromMilliseconds(1)),
            "the clock starts when the last needed participant joined");
        return (session, startedAt);
    }

    [Test]
    public async Task Scenario1_NormalSession_BothSeeTheSameTime()
    {
        var (session, startedAt) = await BothJoinAsync();
        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(2));
        var customer = await _host.ClockAsync(session);
        var mechanic = await _host.ClockAsync(session);
        foreach (var view in new[] { customer, mechanic })
        {
            var derived = (long)(view.Time("server_now")!.Value - startedAt).TotalMilliseconds;
            Assert.That(view.Elapsed(), Is.EqualTo(derived), "elapsed derives from server_now and started_at alone");
            Assert.That(view.Elapsed(), Is.InRange(2_000, 2_500));
        }
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started" }));
    }

    [Test]
    public async Task Scenario2_GracePeriod_PausesAt1m30_ResumesFrom1m30()
    {
        var (session, startedAt) = await BothJoinAsync();
        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(6)); // 1:00 elapsed
        var left = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");
        var leftElapsed = (long)(left - startedAt).TotalMilliseconds;

        await Task.Delay(1500); // inside the grace the clock runs on
        var inGrace = await _host.ClockAsync(session);
        Assert.That(inGrace.Paused(), Is.False);
        Assert.That(inGrace.Elapsed(), Is.GreaterThan(leftElapsed + 1_000));

        var paused = await _host.UntilClockAsync(session, c => c.Paused(), TimeSpan.FromSeconds(5), "the pause");
        Assert.That(paused.Elapsed(), Is.InRange(leftElapsed + 3_000, leftElapsed + 3_000 + 500),
            "paused at departure + grace (1:30), not when it was noticed");

        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(12)); // customer back at 2:00 wall clock
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        var resumed = await _host.UntilClockAsync(session, c => !c.Paused(), TimeSpan.FromSeconds(3), "the resume");
        Assert.That(resumed.Time("last_state_change_at"), Is.EqualTo(_host.JoinedAt(session, "customer")).Within(TimeSpan.FromMilliseconds(1)),
            "resumed at the rejoin");
        var sinceResume = (long)(resumed.Time("server_now")!.Value - resumed.Time("last_state_change_at")!.Value).TotalMilliseconds;
        Assert.That(resumed.Elapsed(), Is.EqualTo(paused.Elapsed() + sinceResume), "counting on from 1:30, not from 2:00");
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started", "paused", "resumed" }));
    }

    [Test]
    public async Task Scenario3_QuickReconnect_NeverPauses()
    {
        var (session, startedAt) = await BothJoinAsync();
        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(4.5)); // 0:45
        _host.LiveKit.Rooms.Leave(Room(session), "mechanic");
        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(5)); // 0:50, within the grace
        _host.LiveKit.Rooms.Join(Room(session), "mechanic");
        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(5 + 3 + 1)); // well past when a pause would have come

        var clock = await _host.ClockAsync(session);
        Assert.That(clock.Paused(), Is.False);
        Assert.That(clock.TotalPaused(), Is.Zero);
        Assert.That(clock.Elapsed(), Is.EqualTo((long)(clock.Time("server_now")!.Value - startedAt).TotalMilliseconds));
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started" }));
    }

    [Test]
    public async Task Scenario4_RapidRefresh_ShowsTheSameTimeAtOnce()
    {
        var (session, startedAt) = await BothJoinAsync();
        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(2.5));
        var before = await _host.ClockAsync(session);
        // The customer refreshes: LiveKit sees a leave and a rejoin of the same identity at once.
        _host.LiveKit.Rooms.Leave(Room(session), "customer");
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        var customerAfter = await _host.ClockAsync(session);
        _host.LiveKit.Rooms.Leave(Room(session), "mechanic");
        _host.LiveKit.Rooms.Join(Room(session), "mechanic");
        var mechanicAfter = await _host.ClockAsync(session);
        foreach (var after in new[] { customerAfter, mechanicAfter })
        {
            var wall = (long)(after.Time("server_now")!.Value - before.Time("server_now")!.Value).TotalMilliseconds;
            Assert.That(after.Elapsed(), Is.EqualTo(before.Elapsed() + wall), "a refreshed client derives the same time at once");
        }
        await Task.Delay(Grace + TimeSpan.FromSeconds(1));
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started" }));
    }

    [Test]
    public async Task Scenario5_DualDevice_ReplacesTheOldDevice_NeverInterrupts()
    {
        var (session, startedAt) = await BothJoinAsync();
        var deviceA = _host.LiveKit.Rooms.Participant(Room(session), "customer")!.Sid;
        await _host.UntilDatabaseTimeAsync(startedAt.AddSeconds(1));
        var deviceB = _host.LiveKit.Rooms.Join(Room(session), "customer"); // same identity, second device
        Assert.That(deviceB.Sid, Is.Not.EqualTo(deviceA));
        Assert.That(_host.LiveKit.Rooms.Participants(Room(session))!.Select(p => p.Sid), Does.Not.Contain(deviceA), "device A was kicked");

        await Task.Delay(Grace + TimeSpan.FromSeconds(1));
        var clock = await _host.ClockAsync(session);
        Assert.That(clock.Paused(), Is.False);
        Assert.That(clock.Elapsed(), Is.EqualTo((long)(clock.Time("server_now")!.Value - startedAt).TotalMilliseconds),
            "device B shows the right position; the timer never stopped");
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started" }));
    }
}
