using System.Text.Json;
using Npgsql;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Database;

/// <summary>session_clock_* against a real PostgreSQL, with explicit effective times where the arithmetic matters.</summary>
public sealed class ClockFunctionTests
{
    private ClockDatabase _db = null!;

    [OneTimeSetUp]
    public async Task CreateDatabase() => _db = await ClockDatabase.CreateAsync();

    [OneTimeTearDown]
    public async Task DropDatabase() => await _db.DisposeAsync();

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>A new session whose clock started <paramref name="ago"/> before the database's now, at t0.</summary>
    private async Task<(Guid Session, DateTime T0)> StartedAsync(TimeSpan ago)
    {
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()) - ago;
        await _db.TransitionAsync("start", session, t0);
        return (session, t0);
    }

    [Test]
    public async Task NotStarted_ElapsedIsZero()
    {
        var clock = await _db.GetAsync(await _db.NewSessionAsync());
        Assert.That(clock.Elapsed(), Is.Zero);
        Assert.That(clock.Time("started_at"), Is.Null);
        Assert.That(clock.Paused(), Is.False);
    }

    [Test]
    public async Task Running_ElapsedIsServerNowMinusStart()
    {
        var (session, t0) = await StartedAsync(3 * Minute);
        var clock = await _db.GetAsync(session);
        var serverNow = clock.Time("server_now")!.Value;
        Assert.That(clock.Elapsed(), Is.EqualTo((long)(serverNow - t0).TotalMilliseconds));
        Assert.That(clock.Elapsed(), Is.InRange(180_000, 185_000));
    }

    [Test]
    public async Task Paused_ElapsedFreezesAtThePause()
    {
        var (session, t0) = await StartedAsync(3 * Minute);
        await _db.TransitionAsync("pause", session, t0 + Minute);
        var first = await _db.GetAsync(session);
        await Task.Delay(20);
        var second = await _db.GetAsync(session);
        Assert.That(first.Elapsed(), Is.EqualTo(60_000));
        Assert.That(second.Elapsed(), Is.EqualTo(60_000));
        Assert.That(second.Time("server_now"), Is.GreaterThan(first.Time("server_now")!.Value));
    }

    [Test]
    public async Task Ended_ElapsedStopsAtTheEnd()
    {
        var (session, t0) = await StartedAsync(3 * Minute);
        await _db.TransitionAsync("pause", session, t0 + Minute);
        await _db.TransitionAsync("resume", session, t0 + 1.5 * Minute);
        var ended = await _db.TransitionAsync("end", session, t0 + 2 * Minute);
        Assert.That(ended.Changed(), Is.True);
        var clock = await _db.GetAsync(session);
        Assert.That(clock.Elapsed(), Is.EqualTo(90_000), "2:00 wall clock minus 0:30 paused");
        Assert.That(clock.Time("ended_at"), Is.EqualTo(t0 + 2 * Minute));
    }

    [Test]
    public async Task EndedWhilePaused_ElapsedStaysAtThePause()
    {
        var (session, t0) = await StartedAsync(3 * Minute);
        await _db.TransitionAsync("pause", session, t0 + Minute);
        await _db.TransitionAsync("end", session, t0 + 2 * Minute);
        var clock = await _db.GetAsync(session);
        Assert.That(clock.Elapsed(), Is.EqualTo(60_000));
        Assert.That(clock.Paused(), Is.True);
        var resume = await _db.TransitionAsync("resume", session, null);
        Assert.That(resume.Success(), Is.False, "an ended session cannot resume");
        Assert.That(resume.GetProperty("error").GetString(), Is.EqualTo("session has ended"));
    }

    [Test]
    public async Task GracePeriodScenario_PausesAt1m30AndResumesFrom1m30()
    {
        // Customer leaves at 1:00 elapsed, 30 s grace → pause effective at 1:30; returns at 2:00 wall clock.
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()) - 5 * Minute;
        var grace = TimeSpan.FromSeconds(30);
        await _db.TransitionAsync("start", session, t0);
        var left = t0 + Minute;
        var pause = await _db.TransitionAsync("pause", session, left + grace, "participant_disconnected");
        Assert.That(pause.Clock().Elapsed(), Is.EqualTo(90_000));
        var resume = await _db.TransitionAsync("resume", session, t0 + 2 * Minute, "participants_reconnected");
        Assert.That(resume.Clock().TotalPaused(), Is.EqualTo(30_000));
        Assert.That(resume.Clock().Time("last_state_change_at"), Is.EqualTo(t0 + 2 * Minute));
        // From the resume on, the clock counts from 1:30: elapsed = 1:30 + time since the resume.
        var clock = await _db.GetAsync(session);
        var sinceResume = (long)(clock.Time("server_now")!.Value - (t0 + 2 * Minute)).TotalMilliseconds;
        Assert.That(clock.Elapsed(), Is.EqualTo(90_000 + sinceResume));
    }

    [Test]
    public async Task PauseAndResume_AreIdempotent_AndLogOnlyChanges()
    {
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()) - Minute;
        Assert.That((await _db.TransitionAsync("start", session, t0)).Changed(), Is.True);
        Assert.That((await _db.TransitionAsync("start", session, null)).Changed(), Is.False);
        Assert.That((await _db.TransitionAsync("pause", session, t0 + TimeSpan.FromSeconds(10))).Changed(), Is.True);
        var again = await _db.TransitionAsync("pause", session, null);
        Assert.That(again.Success(), Is.True);
        Assert.That(again.Changed(), Is.False);
        Assert.That(again.Clock().Elapsed(), Is.EqualTo(10_000), "a repeated pause does not move the pause");
        Assert.That((await _db.TransitionAsync("resume", session, t0 + TimeSpan.FromSeconds(20))).Changed(), Is.True);
        Assert.That((await _db.TransitionAsync("resume", session, null)).Changed(), Is.False);
        var events = await _db.EventsAsync(session);
        Assert.That(events.Select(e => e.Type), Is.EqualTo(new[] { "started", "paused", "resumed" }));
        Assert.That(events.Select(e => e.Source), Is.All.EqualTo("api"));
    }

    [Test]
    public async Task EffectiveTime_NullIsNow()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, (await _db.NowAsync()) - Minute);
        var before = await _db.NowAsync();
        var pause = await _db.TransitionAsync("pause", session, null);
        var after = await _db.NowAsync();
        Assert.That(pause.Clock().Time("last_state_change_at"), Is.InRange(before, after));
    }

    [Test]
    public async Task EffectiveTime_InTheFutureIsClampedToNow()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, (await _db.NowAsync()) - Minute);
        var pause = await _db.TransitionAsync("pause", session, (await _db.NowAsync()) + TimeSpan.FromHours(1));
        var after = await _db.NowAsync();
        Assert.That(pause.Clock().Time("last_state_change_at"), Is.LessThanOrEqualTo(after));
        Assert.That(pause.Clock().Time("last_state_change_at"), Is.GreaterThan(after - TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task EffectiveTime_BeforeTheLastChangeIsClampedToIt()
    {
        var (session, t0) = await StartedAsync(3 * Minute);
        await _db.TransitionAsync("pause", session, t0 + Minute);
        var resume = await _db.TransitionAsync("resume", session, t0 - Minute);
        Assert.That(resume.Clock().Time("last_state_change_at"), Is.EqualTo(t0 + Minute));
        Assert.That(resume.Clock().TotalPaused(), Is.Zero, "the clock never runs backwards past a committed transition");
        var events = await _db.EventsAsync(session);
        Assert.That(events[^1].EffectiveAt, Is.EqualTo(t0 + Minute));
    }

    [TestCase("pause")]
    [TestCase("resume")]
    [TestCase("start")]
    [TestCase("end")]
    public async Task UnknownSession_AnswersSuccessFalse(string function)
    {
        var result = await _db.TransitionAsync(function, Guid.NewGuid(), null);
        Assert.That(result.Success(), Is.False, function);
        Assert.That(result.GetProperty("error").GetString(), Is.EqualTo("session not found"));
    }

    [Test]
    public async Task UnknownSession_GetAnswersSqlNull() =>
        Assert.That((await _db.GetAsync(Guid.NewGuid())).ValueKind, Is.EqualTo(JsonValueKind.Undefined), "get answers SQL null");

    [Test]
    public async Task PauseBeforeStart_ChangesNothing()
    {
        var session = await _db.NewSessionAsync();
        var result = await _db.TransitionAsync("pause", session, null);
        Assert.That(result.Success(), Is.False);
        Assert.That(result.GetProperty("error").GetString(), Is.EqualTo("session has not started"));
        Assert.That(await _db.EventsAsync(session), Is.Empty);
    }

    [Test]
    public async Task TwoHundredConcurrentCalls_KeepTotalPausedEqualToTheLoggedIntervals()
    {
        var (session, t0) = await StartedAsync(10 * Minute);
        var random = new Random(20261124);
        var calls = Enumerable.Range(0, 200).Select(i =>
        {
            var function = random.Next(2) == 0 ? "pause" : "resume";
            DateTime? at = random.Next(3) == 0 ? t0 + TimeSpan.FromSeconds(random.Next(600)) : null;
            return Task.Run(() => _db.TransitionAsync(function, session, at));
        }).ToList();
        var results = await Task.WhenAll(calls);

        var events = await _db.EventsAsync(session);
        var transitions = events.Skip(1).ToList();
        Assert.That(results.All(r => r.Success()), Is.True);
        Assert.That(transitions, Has.Count.EqualTo(results.Count(r => r.Changed())), "one event per real change");
        for (var i = 0; i < transitions.Count; i++)
            Assert.That(transitions[i].Type, Is.EqualTo(i % 2 == 0 ? "paused" : "resumed"), "events alternate");
        for (var i = 1; i < events.Count; i++)
            Assert.That(events[i].EffectiveAt, Is.GreaterThanOrEqualTo(events[i - 1].EffectiveAt), "effective times never go back");

        var loggedPausedMs = 0L;
        for (var i = 0; i + 1 < transitions.Count; i += 2)
            loggedPausedMs += (long)(transitions[i + 1].EffectiveAt - transitions[i].EffectiveAt).TotalMilliseconds;
        var clock = await _db.GetAsync(session);
        Assert.That(clock.TotalPaused(), Is.EqualTo(loggedPausedMs));
        Assert.That(transitions.Count, Is.GreaterThan(10), "the random mix made real changes");
    }

    [Test]
    public async Task EveryClockChange_IsNotifiedOnChannelSessionClock()
    {
        var session = await _db.NewSessionAsync();
        await using var listener = await _db.DataSource.OpenConnectionAsync();
        var received = new List<string>();
        listener.Notification += (_, e) => { lock (received) received.Add(e.Payload); };
        await using (var listen = new NpgsqlCommand("LISTEN session_clock", listener)) await listen.ExecuteNonQueryAsync();

        await _db.TransitionAsync("start", session, null);
        await _db.TransitionAsync("pause", session, null);
        await _db.TransitionAsync("pause", session, null); // no change, no notification

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline && received.Count < 2) await listener.WaitAsync(TimeSpan.FromMilliseconds(200));
        await Task.Delay(100);
        while (await listener.WaitAsync(TimeSpan.FromMilliseconds(100))) { }

        var payloads = received.Select(p => JsonDocument.Parse(p).RootElement)
            .Where(p => p.GetProperty("session_id").GetGuid() == session).ToList();
        Assert.That(payloads, Has.Count.EqualTo(2));
        Assert.That(payloads[1].Paused(), Is.True);
        Assert.That(payloads[1].TryGetProperty("server_now", out _), Is.False, "the payload is state, not a reading of time");
    }
}
