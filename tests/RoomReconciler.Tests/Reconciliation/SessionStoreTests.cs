using RoomReconciler.Reconciliation;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Reconciliation;

/// <summary>Loading and applying decisions against a real PostgreSQL: one round trip, version-checked, database time.</summary>
public sealed class SessionStoreTests
{
    private ClockDatabase _db = null!;
    private SessionStore _store = null!;

    [OneTimeSetUp]
    public async Task CreateDatabase()
    {
        _db = await ClockDatabase.CreateAsync();
        _store = new SessionStore(_db.DataSource);
    }

    [OneTimeTearDown]
    public async Task DropDatabase() => await _db.DisposeAsync();

    private async Task<SessionReading> ReadAsync(Guid session) => (await _store.LoadAsync(session, CancellationToken.None)).Sessions.Single();

    private static PendingDecision Pending(SessionReading reading, params ClockAction[] actions) =>
        new(reading, new Decision(actions, new Presence(["mechanic"], null), null), "RM_1", 1);

    [Test]
    public async Task Apply_PauseAndResume_InOneRoundTrip_WithPollSource()
    {
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()) - TimeSpan.FromMinutes(3);
        await _db.TransitionAsync("start", session, t0);
        var reading = await ReadAsync(session);

        var applied = await _store.ApplyAsync([Pending(reading,
            new ClockAction(ClockTransition.Paused, t0.AddSeconds(90), ClockDecider.ReasonPaused),
            new ClockAction(ClockTransition.Resumed, t0.AddSeconds(120), ClockDecider.ReasonResumed))], ClockSource.Poll, CancellationToken.None);

        Assert.That(applied.Select(a => (a.Outcome, a.Transition)), Is.EqualTo(new (ApplyOutcome, ClockTransition?)[] { (ApplyOutcome.Changed, ClockTransition.Paused), (ApplyOutcome.Changed, ClockTransition.Resumed) }));
        Assert.That(applied[0].EffectiveAt, Is.EqualTo(new DateTimeOffset(t0.AddSeconds(90), TimeSpan.Zero)));
        var events = await _db.EventsAsync(session);
        Assert.That(events.Select(e => (e.Type, e.Source)), Is.EqualTo(new[] { ("started", "api"), ("paused", "poll"), ("resumed", "poll") }));
        Assert.That((await _db.GetAsync(session)).TotalPaused(), Is.EqualTo(30_000));

        var after = await ReadAsync(session);
        Assert.That(after.Session.Participants, Is.EqualTo(new[] { "mechanic" }));
        Assert.That(after.RoomSid, Is.EqualTo("RM_1"));
        Assert.That(after.RoomNumParticipants, Is.EqualTo(1));
    }

    [Test]
    public async Task Apply_SkipsADecisionMadeOnAnOldReading()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, (await _db.NowAsync()) - TimeSpan.FromMinutes(1));
        var reading = await ReadAsync(session);
        await _db.TransitionAsync("pause", session, null); // someone else changed the clock since the reading

        var applied = await _store.ApplyAsync([Pending(reading, new ClockAction(ClockTransition.Resumed, DateTimeOffset.UtcNow, "x"))],
            ClockSource.Poll, CancellationToken.None);

        Assert.That(applied.Select(a => a.Outcome), Is.EqualTo(new[] { ApplyOutcome.Stale }));
        Assert.That((await _db.EventsAsync(session)).Select(e => e.Type), Is.EqualTo(new[] { "started", "paused" }));
        Assert.That((await ReadAsync(session)).PresenceVersion, Is.Null, "nothing of a stale decision is written");
    }

    [Test]
    public async Task Apply_SkipsWhenPresenceChangedSinceTheReading()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, (await _db.NowAsync()) - TimeSpan.FromMinutes(1));
        var reading = await ReadAsync(session);
        await _store.ApplyAsync([Pending(reading)], ClockSource.Webhook, CancellationToken.None);

        var applied = await _store.ApplyAsync([Pending(reading, new ClockAction(ClockTransition.Paused, DateTimeOffset.UtcNow, "x"))],
            ClockSource.Poll, CancellationToken.None);
        Assert.That(applied.Select(a => a.Outcome), Is.EqualTo(new[] { ApplyOutcome.Stale }));
    }

    [Test]
    public async Task Apply_ARefusedTransition_IsRejected_WithItsErrorApart()
    {
        var session = await _db.NewSessionAsync();
        var reading = await ReadAsync(session);
        var applied = await _store.ApplyAsync([Pending(reading, new ClockAction(ClockTransition.Paused, DateTimeOffset.UtcNow, "x"))],
            ClockSource.Poll, CancellationToken.None);
        Assert.That(applied.Select(a => (a.Outcome, a.Transition, a.Reason, a.Error)),
            Is.EqualTo(new (ApplyOutcome, ClockTransition?, string?, string?)[] { (ApplyOutcome.Rejected, ClockTransition.Paused, "x", "session has not started") }));
    }

    [Test]
    public async Task Load_ReadsTheDatabaseClock_AndSkipsEndedSessions()
    {
        var running = await _db.NewSessionAsync();
        var ended = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", ended, null);
        await _db.TransitionAsync("end", ended, null);
        var before = await _db.NowAsync();
        var (sessions, clock) = await _store.LoadAsync(CancellationToken.None);
        var after = await _db.NowAsync();

        Assert.That(sessions.Select(s => s.Session.Id), Does.Contain(running));
        Assert.That(sessions.Select(s => s.Session.Id), Does.Not.Contain(ended));
        Assert.That(clock.ReadAt.UtcDateTime, Is.InRange(before, after));
    }

    [Test]
    public async Task Apply_WithNothingToDo_MakesNoRoundTrip()
    {
        var session = await _db.NewSessionAsync();
        var reading = await ReadAsync(session);
        var idle = new PendingDecision(reading, Decision.Nothing, reading.RoomSid, reading.RoomNumParticipants);
        Assert.That(await _store.ApplyAsync([idle], ClockSource.Poll, CancellationToken.None), Is.Empty);
    }
}
