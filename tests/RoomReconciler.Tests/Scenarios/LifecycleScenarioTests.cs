using System.Net.Http.Json;
using System.Text.Json;
using LiveKitSimulator;
using RoomReconciler.Tests.Support;
using static RoomReconciler.Tests.Scenarios.ScenarioHost;

namespace RoomReconciler.Tests.Scenarios;

/// <summary>
/// LiveKit's real participant lifecycle (docs/livekit.md §8), one scenario per finding, through the real
/// daemon, the simulator and PostgreSQL, with the effective times asserted. Grace 3 s as in the acceptance scenarios.
/// </summary>
[NonParallelizable]
public sealed class LifecycleScenarioTests
{
    /// <summary>A loaded 2-core machine runs ticks late; every "within" below allows this much on top.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(800);

    private ScenarioHost _host = null!;

    [TearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    private async Task<(Guid Session, DateTime StartedAt)> RunningSessionAsync(TimeSpan? timeout = null)
    {
        var session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        _host.LiveKit.Rooms.Join(Room(session), "mechanic");
        var clock = await _host.UntilClockAsync(session, c => c.Time("started_at") is not null, timeout ?? TimeSpan.FromSeconds(5), "the start");
        return (session, clock.Time("started_at")!.Value);
    }

    /// <summary>Finding 1: the customer leaves while a hidden observer joins; the listing never moves and no webhook comes.</summary>
    [Test]
    public async Task BlindSpot_UnchangedListingAndNoWebhook_StillPausesWithinSixPolls()
    {
        var poll = TimeSpan.FromMilliseconds(400);
        _host = await ScenarioHost.CreateAsync(poll: poll, webhooks: false);
        await _host.StartDaemonAsync();
        // Twelve rooms, so that each tick verifies only ⌈12 / 6⌉ = 2 of them: the bound is six polls, not one.
        var sessions = new List<Guid>();
        for (var i = 0; i < 12; i++) sessions.Add((await RunningSessionAsync()).Session);
        await Task.Delay(poll * 3); // every room's listing stored
        _host.LiveKit.SetNumParticipantsStaleness(TimeSpan.FromHours(1)); // num_participants frozen at 2, as a stale cache

        var session = sessions[5];
        _host.LiveKit.Rooms.Join(Room(session), "supervisor", hidden: true);
        var left = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");

        var bound = Grace + poll * RoomReconciler.Reconciliation.ClockReconciler.VerifyEveryTicks + Slack;
        var paused = await _host.UntilClockAsync(session, c => c.Paused(), bound + TimeSpan.FromSeconds(2), "the pause without webhook or listing change");
        Assert.That(paused.Time("last_state_change_at"), Is.InRange(left + Grace, left + bound),
            "paused at (the look that saw the drop) + grace, the look within six polls");
        foreach (var other in sessions.Where(s => s != session))
            Assert.That((await _host.ClockAsync(other)).Paused(), Is.False);
    }

    /// <summary>Finding 2: a STANDARD participant with the legacy agent (or recorder) grant is a bot, not a person.</summary>
    [Test]
    public async Task LegacyAgentOrRecorderGrant_NeverKeepsAClockRunning()
    {
        _host = await ScenarioHost.CreateAsync();
        await _host.StartDaemonAsync();
        var lonely = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(lonely), "customer");
        _host.LiveKit.Rooms.Join(Room(lonely), "old-bot", new JoinOptions { LegacyAgent = true });

        var (session, _) = await RunningSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "old-bot", new JoinOptions { LegacyAgent = true });
        _host.LiveKit.Rooms.Join(Room(session), "old-recorder", new JoinOptions { LegacyRecorder = true });
        var left = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");

        var paused = await _host.UntilClockAsync(session, c => c.Paused(), Grace + TimeSpan.FromSeconds(3), "the pause");
        Assert.That(paused.Time("last_state_change_at"), Is.InRange(left + Grace, left + Grace + Slack), "paused at departure + grace");
        Assert.That((await _host.ClockAsync(lonely)).Time("started_at"), Is.Null, "a person and a legacy-grant bot are one person");
    }

    /// <summary>Finding 3: JOINING is not present; the clock starts when the last needed participant became ACTIVE.</summary>
    [Test]
    public async Task Joining_StartsOnlyAtActive_AndAConnectionThatNeverCompletesBillsNothing()
    {
        _host = await ScenarioHost.CreateAsync(liveKit: o => o.JoinTimeout = TimeSpan.FromSeconds(4));
        await _host.StartDaemonAsync();
        var never = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(never), "customer");
        _host.LiveKit.Rooms.Join(Room(never), "mechanic", active: false);
        var session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        _host.LiveKit.Rooms.Join(Room(session), "mechanic", active: false);
        _host.LiveKit.Rooms.SetState(Room(session), "mechanic", ParticipantState.Joined);

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.That((await _host.ClockAsync(session)).Time("started_at"), Is.Null, "JOINED is not ACTIVE");
        var joinedAt = _host.JoinedAt(session, "mechanic");
        var activeAt = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Activate(Room(session), "mechanic");

        var started = await _host.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(3), "the start");
        Assert.That(started.Time("started_at"), Is.InRange(activeAt.AddSeconds(-1), activeAt + Slack),
            "effective when it became ACTIVE (participant_joined's createdAt, whole seconds), not at joined_at");
        Assert.That(started.Time("started_at"), Is.GreaterThan(joinedAt.AddMilliseconds(900)));

        await Eventually.Async(() => Task.FromResult(_host.LiveKit.Rooms.Participant(Room(never), "mechanic")), p => p is null,
            TimeSpan.FromSeconds(8), "LiveKit to drop the connection that never completed");
        await Task.Delay(Poll * 4);
        Assert.That((await _host.ClockAsync(never)).Time("started_at"), Is.Null, "someone who never connected is never billed");
    }

    /// <summary>Finding 3, without webhooks: a poll sees ACTIVE; the start is clamped to the last look, not joined_at.</summary>
    [Test]
    public async Task Joining_WithoutWebhooks_StartIsClampedToTheLastLook()
    {
        _host = await ScenarioHost.CreateAsync(webhooks: false);
        await _host.StartDaemonAsync();
        var session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        _host.LiveKit.Rooms.Join(Room(session), "mechanic", active: false);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var joinedAt = _host.JoinedAt(session, "mechanic");
        var activeAt = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Activate(Room(session), "mechanic");

        var started = await _host.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(3), "the start");
        Assert.That(started.Time("started_at"), Is.InRange(activeAt - Poll - Slack, started.Time("server_now")!.Value),
            "no earlier than the look before it became ACTIVE: at most a poll interval early");
        Assert.That(started.Time("started_at"), Is.GreaterThan(joinedAt.AddMilliseconds(900)), "not backdated to joined_at");
    }

    /// <summary>Finding 4: with psrpc a closed room answers unavailable; the grace's deadline recheck still pauses on time.</summary>
    [Test]
    public async Task ClosedRoomAnsweringUnavailable_PausesAtTheGracesEnd_NotAtTheNextPoll()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromSeconds(30), liveKit: o => o.PsrpcListParticipants = true);
        await _host.StartDaemonAsync();
        var session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Create(Room(session), departureTimeout: TimeSpan.FromSeconds(1));
        _host.LiveKit.Rooms.Join(Room(session), "customer");
        _host.LiveKit.Rooms.Join(Room(session), "mechanic");
        await _host.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(5), "the start (by webhook)");

        var left = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.Leave(Room(session), "customer");
        _host.LiveKit.Rooms.Leave(Room(session), "mechanic");

        var paused = await _host.UntilClockAsync(session, c => c.Paused(), Grace + TimeSpan.FromSeconds(3), "the pause at the grace's end");
        Assert.That(_host.LiveKit.Rooms.Get(Room(session)), Is.Null, "the room had closed before the grace ended");
        Assert.That(paused.Time("last_state_change_at"), Is.InRange(left + Grace, left + Grace + Slack));
    }

    /// <summary>
    /// Many rooms closing at once: each deadline's look answers psrpc `unavailable`, more than the circuit breaker's
    /// minimum throughput. An answer, not an outage: not retried, not counted, so the breaker stays closed and every
    /// room still pauses at its grace's end.
    /// </summary>
    [Test]
    public async Task ManyRoomsClosingTogether_NeverOpenTheBreaker_AndEachPausesAtTheGracesEnd()
    {
        _host = await ScenarioHost.CreateAsync(poll: TimeSpan.FromSeconds(30), liveKit: o => o.PsrpcListParticipants = true);
        await _host.StartDaemonAsync();
        var sessions = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            var session = await _host.NewSessionAsync();
            _host.LiveKit.Rooms.Create(Room(session), departureTimeout: TimeSpan.FromSeconds(1));
            _host.LiveKit.Rooms.Join(Room(session), "customer");
            _host.LiveKit.Rooms.Join(Room(session), "mechanic");
            sessions.Add(session);
        }
        foreach (var s in sessions) await _host.UntilClockAsync(s, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(5), "the start (by webhook)");

        var left = await _host.Db.NowAsync();
        foreach (var s in sessions)
        {
            _host.LiveKit.Rooms.Leave(Room(s), "customer");
            _host.LiveKit.Rooms.Leave(Room(s), "mechanic");
        }

        foreach (var s in sessions)
        {
            var paused = await _host.UntilClockAsync(s, c => c.Paused(), Grace + TimeSpan.FromSeconds(3), "the pause at the grace's end");
            Assert.That(paused.Time("last_state_change_at"), Is.InRange(left + Grace, left + Grace + Slack));
        }
        Assert.That(sessions.Select(s => _host.LiveKit.Rooms.Get(Room(s))), Has.All.Null, "every room had closed before its grace ended");
    }

    /// <summary>Finding 5: a dead LiveKit node leaves the room listed with ACTIVE participants and sends nothing.</summary>
    [Test]
    public async Task DeadNodesRoom_ClockEndsAtMaxSessionDuration_ExactlyAndOnce()
    {
        _host = await ScenarioHost.CreateAsync(daemonArgs: "--Reconciler:MaxSessionDuration=00:00:04");
        var url = await _host.StartDaemonAsync();
        var (session, startedAt) = await RunningSessionAsync();
        _host.LiveKit.Rooms.FailNode();

        var ended = await _host.UntilClockAsync(session, c => c.Time("ended_at") is not null, TimeSpan.FromSeconds(4) + TimeSpan.FromSeconds(3), "the cap");
        Assert.That(ended.Time("ended_at"), Is.EqualTo(startedAt.AddSeconds(4)), "effective when elapsed reached the cap exactly");
        Assert.That(ended.Elapsed(), Is.EqualTo(4_000));

        await Task.Delay(Poll * 6);
        Assert.That((await _host.Db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started", "ended" }),
            "participants are still listed, and it does not start again");
        Assert.That(await EndReasonAsync(url, session), Is.EqualTo("max_duration"));
    }

    /// <summary>Finding 5: a LiveKit unreadable for longer than the cap pauses nothing, but the clock still ends.</summary>
    [Test]
    public async Task LiveKitUnreadable_ClockStillEndsAtMaxSessionDuration()
    {
        _host = await ScenarioHost.CreateAsync(daemonArgs: "--Reconciler:MaxSessionDuration=00:00:04");
        await _host.StartDaemonAsync();
        var (session, startedAt) = await RunningSessionAsync();
        _host.LiveKit.Faults.Inject(FaultKind.Unavailable);

        var ended = await _host.UntilClockAsync(session, c => c.Time("ended_at") is not null, TimeSpan.FromSeconds(4) + TimeSpan.FromSeconds(3), "the cap");
        Assert.That(ended.Time("ended_at"), Is.EqualTo(startedAt.AddSeconds(4)));
        Assert.That(ended.TotalPaused(), Is.Zero, "unknown is not zero: nothing paused before the cap");
    }

    /// <summary>Finding 6: an unclean disconnect is removed ~20 s later (2 s here); the grace counts from the removal.</summary>
    [Test]
    public async Task UncleanDisconnect_GraceCountsFromLiveKitsRemoval_NotFromTheNetworkLoss()
    {
        var removal = TimeSpan.FromSeconds(2);
        _host = await ScenarioHost.CreateAsync(liveKit: o => o.UncleanDisconnectTimeout = removal);
        await _host.StartDaemonAsync();
        var (session, _) = await RunningSessionAsync();
        var lost = await _host.Db.NowAsync();
        _host.LiveKit.Rooms.LoseNetwork(Room(session), "customer");

        var paused = await _host.UntilClockAsync(session, c => c.Paused(), removal + Grace + TimeSpan.FromSeconds(3), "the pause");
        Assert.That(paused.Time("last_state_change_at"), Is.InRange(lost + removal + Grace, lost + removal + Grace + Slack),
            "LiveKit still lists the participant ACTIVE until it removes it: that much later than the network loss");
    }

    /// <summary>Finding 7: LiveKit's clock 90 s behind ours: past its 60 s leeway for a token minted "now".</summary>
    [Test]
    public async Task LiveKitClockBehindOursBeyondItsLeeway_TokensStillAccepted()
    {
        var behind = new OffsetTime(TimeSpan.FromSeconds(-90));
        _host = await ScenarioHost.CreateAsync(liveKitTime: behind);
        await _host.StartDaemonAsync();
        var (session, startedAt) = await RunningSessionAsync(TimeSpan.FromSeconds(8));
        var clock = await _host.ClockAsync(session);
        Assert.That(startedAt, Is.InRange(_host.JoinedAt(session, "mechanic").AddMilliseconds(-1), clock.Time("server_now")!.Value),
            "LiveKit's joined_at is a hint in LiveKit's clock, clamped by the database's: skew can move a start by the offset, never past now");
        Assert.That(_host.LiveKit.Calls["ListParticipants"], Is.GreaterThan(0));
    }

    private static async Task<string?> EndReasonAsync(string url, Guid session)
    {
        using var http = new HttpClient();
        var timeline = await http.GetFromJsonAsync<JsonElement>($"{url}/sessions/{session}/timeline");
        return timeline.GetProperty("events").EnumerateArray().Last().GetProperty("reason").GetString();
    }
}

/// <summary>The system clock moved by a fixed offset: another machine's clock.</summary>
public sealed class OffsetTime(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
}
