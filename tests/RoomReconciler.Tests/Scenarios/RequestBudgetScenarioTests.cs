using LiveKitSimulator;
using RoomReconciler.Tests.Support;
using static RoomReconciler.Tests.Scenarios.ScenarioHost;

namespace RoomReconciler.Tests.Scenarios;

/// <summary>
/// 1,000 live sessions against a LiveKit limited as LiveKit Cloud limits a project, in time compressed 5×: the default
/// 10 s poll is 2 s, a 5 s grace 1 s, LiveKit's minute 12 s with the daemon's default budget of 600 calls in it.
/// Webhooks come for most leaves and returns, a few are lost. The 1.5 s a transition may be late is not compressed:
/// it is the time a webhook, a timer, PostgreSQL and LiveKit take to answer, which no configuration makes shorter.
/// </summary>
[NonParallelizable]
public sealed class RequestBudgetScenarioTests
{
    private const int Compression = 5;
    private const int Sessions = 1000;
    private const int Budget = 600;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(10) / Compression;
    private static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(5) / Compression;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1) / Compression;
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(1.5);

    private ScenarioHost _host = null!;

    [TearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    [TestCase(1)]
    [TestCase(2)]
    public async Task ThousandSessions_OnABudgetOf600AMinute_NothingThrottledAndEveryTransitionOnTime(int replicas)
    {
        _host = await ScenarioHost.CreateAsync(poll: PollInterval, liveKit: o => { o.RateLimit = Budget; o.RateLimitWindow = Window; },
            daemonArgs: ["--Reconciler:GracePeriod=" + GracePeriod.ToString("c"), "--LiveKit:RequestWindow=" + Window.ToString("c")]);
        var sessions = await LiveSessionsAsync();
        for (var i = 0; i < replicas; i++) await _host.StartDaemonProcessAsync();
        _host.LiveKit.RateLimit.Reset();
        await Task.Delay(PollInterval); // the first ticks, in steady state

        // One driver, so that turning webhooks off for a lost one never loses another's. Over one window: 40 leaves with
        // a webhook, 30 of them back after the grace (their pause and resume with webhooks); 5 leaves whose webhook is lost.
        var leaves = new List<(Guid Session, DateTime Left, bool Lost)>();
        var returns = new List<Guid>();
        var step = Window / 50;
        for (var i = 0; i < 45; i++)
        {
            var session = sessions[i];
            var lost = i % 9 == 8;
            var left = await _host.Db.NowAsync();
            _host.LiveKit.Webhooks.Enabled = !lost;
            _host.LiveKit.Rooms.Leave(Room(session), "customer");
            _host.LiveKit.Webhooks.Enabled = true;
            leaves.Add((session, left, lost));
            await Task.Delay(step);
            // Back well after its pause: the leave of i - 8 steps ago, 1.6 s = 8 × 0.2 s after it left.
            if (i >= 8 && !leaves[i - 8].Lost && returns.Count < 30)
            {
                _host.LiveKit.Rooms.Join(Room(leaves[i - 8].Session), "customer");
                returns.Add(leaves[i - 8].Session);
            }
        }
        await Task.Delay(GracePeriod + PollInterval * 2 + Tolerance);
        var lateness = new List<(string What, TimeSpan Late)>();

        Assert.Multiple(async () =>
        {
            Assert.That(_host.LiveKit.RateLimit.Throttled, Is.Zero, "no call throttled");
            Assert.That(_host.LiveKit.RateLimit.MostInAnyWindow(Window), Is.LessThanOrEqualTo(Budget), "no window over the budget");
            Assert.That(_host.LiveKit.Calls["ListParticipants"], Is.GreaterThan(Budget / 2), "the budget was used, for the verification sweep too");
            foreach (var (session, left, lost) in leaves)
            {
                var events = await EventsAsync(session);
                var paused = events.SingleOrDefault(e => e.Type == "paused");
                Assert.That(paused.Type, Is.EqualTo("paused"), $"session {session} paused");
                if (paused.Type is null) continue;
                lateness.Add((lost ? "lost-webhook pause" : "pause", paused.EffectiveAt - (left + GracePeriod)));
                if (!lost) lateness.Add(("pause written", paused.CreatedAt - paused.EffectiveAt));
                if (lost)
                    Assert.That(paused.EffectiveAt, Is.InRange(left + GracePeriod, left + GracePeriod + PollInterval + Tolerance),
                        "a leave whose webhook was lost pauses within one poll of leave + grace");
                else
                {
                    Assert.That(paused.EffectiveAt, Is.InRange(left + GracePeriod, left + GracePeriod + Tolerance), "a pause at leave + grace");
                    Assert.That(paused.CreatedAt - paused.EffectiveAt, Is.LessThan(Tolerance), "written at its moment");
                }
                if (!returns.Contains(session)) continue;
                var resumed = events.SingleOrDefault(e => e.Type == "resumed");
                Assert.That(resumed.Type, Is.EqualTo("resumed"), $"session {session} resumed");
                if (resumed.Type is null) continue;
                lateness.Add(("resume written", resumed.CreatedAt - resumed.EffectiveAt));
                Assert.That(resumed.EffectiveAt, Is.EqualTo(_host.JoinedAt(session, "customer")).Within(Tolerance), "a resume at the return");
                Assert.That(resumed.CreatedAt - resumed.EffectiveAt, Is.LessThan(Tolerance), "written at its moment");
            }
        });
        foreach (var group in lateness.GroupBy(l => l.What))
            TestContext.Progress.WriteLine($"{replicas} replica(s): {group.Key}: {group.Count()}, late by at most {group.Max(l => l.Late).TotalMilliseconds:F0} ms");
        TestContext.Progress.WriteLine($"{replicas} replica(s): calls {_host.LiveKit.Calls.Total}, most in a {Window.TotalSeconds:0} s window {_host.LiveKit.RateLimit.MostInAnyWindow(Window)}, throttled {_host.LiveKit.RateLimit.Throttled}");
    }

    /// <summary>
    /// Sessions whose customer and mechanic are in their rooms, and which the daemon has seen so (their presence stored,
    /// looked at over the last minute): a daemon that starts finds them in steady state.
    /// </summary>
    private async Task<List<Guid>> LiveSessionsAsync()
    {
        _host.LiveKit.Webhooks.Enabled = false;
        var sessions = Enumerable.Range(0, Sessions).Select(_ => Guid.NewGuid()).ToList();
        foreach (var s in sessions)
        {
            _host.LiveKit.Rooms.Join(Room(s), "customer");
            _host.LiveKit.Rooms.Join(Room(s), "mechanic");
        }
        var rooms = _host.LiveKit.Rooms.List().ToDictionary(r => r.Name);
        var ids = sessions.ToArray();
        await using var batch = _host.Db.DataSource.CreateBatch();
        batch.BatchCommands.Add(new("INSERT INTO sessions (id) SELECT unnest($1)") { Parameters = { new() { Value = ids } } });
        batch.BatchCommands.Add(new("SELECT session_clock_start(id, 'test', now() - interval '10 minutes') FROM unnest($1) AS id")
        {
            Parameters = { new() { Value = ids } },
        });
        batch.BatchCommands.Add(new("""
            INSERT INTO roomreconciler.session_presence (session_id, participants, observed_at, source, room_sid, room_num_participants)
            SELECT id, '{customer,mechanic}', now() - (n * interval '1 minute' / $3), 'poll', sid, 2
            FROM unnest($1, $2) WITH ORDINALITY AS x(id, sid, n)
            """) { Parameters = { new() { Value = ids }, new() { Value = sessions.Select(s => rooms[Room(s)].Sid).ToArray() }, new() { Value = (double)Sessions } } });
        await batch.ExecuteNonQueryAsync();
        _host.LiveKit.Webhooks.Enabled = true;
        return sessions;
    }

    private async Task<List<(string Type, DateTime EffectiveAt, DateTime CreatedAt)>> EventsAsync(Guid session)
    {
        await using var command = _host.Db.DataSource.CreateCommand(
            "SELECT event_type, effective_at, created_at FROM roomreconciler.session_events WHERE session_id = $1 AND source <> 'api' ORDER BY id");
        command.Parameters.AddWithValue(session);
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<(string, DateTime, DateTime)>();
        while (await reader.ReadAsync()) events.Add((reader.GetString(0), reader.GetDateTime(1), reader.GetDateTime(2)));
        return events;
    }
}
