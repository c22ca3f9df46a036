using RoomReconciler.Clock;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Clock;

/// <summary>The in-memory parts without I/O: the database clock estimate, a subscriber's mailbox, notification payloads.</summary>
public sealed class ClockMemoryTests
{
    /// <summary>A monotonic clock the test moves by hand (1 tick = 1 µs).</summary>
    private sealed class ManualClock : TimeProvider
    {
        public long Now;
        public override long TimestampFrequency => 1_000_000;
        public override long GetTimestamp() => Now;
    }

    private static readonly DateTime Db = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static long UnixMs(DateTime t) => ClockTime.UnixMs(t);

    [Test]
    public void DatabaseClock_KeepsTheSampleWithTheSmallestErrorBound_AndRunsOnWithTheMonotonicClock()
    {
        var time = new ManualClock();
        var clock = new DatabaseClock(time);
        Assert.That(clock.TryGetNow(out _), Is.False, "no sample, no estimate");

        // Sent at 0, answered at 2000 µs; the database said 12:00:00.000 (read at the midpoint, 1000 µs).
        clock.AddSample(0, Db, 2_000);
        // A later sample whose answer was delayed 40 ms: its bound is worse, so it is not used.
        time.Now = 500_000;
        clock.AddSample(500_000, Db.AddMilliseconds(499 + 7), 540_000);

        time.Now = 1_001_000; // one second after the first sample's midpoint
        Assert.That(clock.TryGetNow(out var now), Is.True);
        Assert.That(now, Is.EqualTo(UnixMs(Db.AddSeconds(1))));
        Assert.That(clock.Uncertainty!.Value.TotalMilliseconds, Is.EqualTo(1 + 1000 * DatabaseClock.MaxDrift).Within(0.001));
    }

    [Test]
    public void DatabaseClock_DistrustsAnOldSample_AndForgetsOnClear()
    {
        var time = new ManualClock();
        var clock = new DatabaseClock(time);
        clock.AddSample(0, Db, 100);
        time.Now = (long)DatabaseClock.MaxAge.TotalMicroseconds + 1_000;
        Assert.That(clock.TryGetNow(out _), Is.False);
        clock.AddSample(time.Now, Db, time.Now + 100);
        Assert.That(clock.TryGetNow(out _), Is.True);
        clock.Clear();
        Assert.That(clock.TryGetNow(out _), Is.False);
    }

    [TestCase(384L << 20, 7_168)] // the daemon container's limit in deploy/kubernetes
    [TestCase(256L << 20, 3_072)]
    [TestCase(64L << 20, ClockStreamLimits.MinDefault)]
    [TestCase(24L << 30, ClockStreamLimits.MaxDefault)]
    public void DefaultMaxStreams_IsWhatTheMemoryHoldsBesideTheIdleProcess(long availableBytes, int expected) =>
        Assert.That(ClockStreamLimits.DefaultMaxStreams(availableBytes), Is.EqualTo(expected));

    [Test]
    public void Subscriber_KeepsOnlyTheNewestEntry_WhateverOrderTheyArriveIn()
    {
        var subscriber = new ClockSubscriber(Guid.NewGuid());
        var state = new ClockState(subscriber.SessionId, null, null, false, 0, null);
        foreach (var version in new long[] { 5, 3, 9, 1, 7 }) subscriber.Offer(new ClockEntry(subscriber.SessionId, state, version));
        Assert.That(subscriber.Latest!.Version, Is.EqualTo(9));
        Assert.That(subscriber.WaitAsync().IsCompleted, Is.True, "rung");
        Assert.That(subscriber.WaitAsync().IsCompleted, Is.False, "rung once however many offers: no backlog");
    }

    [TestCase(false, null, 0L)]
    [TestCase(true, null, 0L)]
    public void ElapsedMs_FollowsTheSqlFormula_BeforeTheStart(bool paused, long? ended, long expected) =>
        Assert.That(new ClockState(Guid.Empty, null, ended, paused, 0, null).ElapsedMs(1_000_000), Is.EqualTo(expected));

    [Test]
    public void ElapsedMs_FollowsTheSqlFormula_OnceStarted()
    {
        var running = new ClockState(Guid.Empty, 1_000, null, false, 300, 1_500);
        Assert.That(running.ElapsedMs(11_000), Is.EqualTo(9_700));
        Assert.That((running with { IsPaused = true, LastStateChangeAt = 5_000 }).ElapsedMs(11_000), Is.EqualTo(3_700));
        Assert.That((running with { EndedAt = 8_000 }).ElapsedMs(11_000), Is.EqualTo(6_700));
        Assert.That((running with { TotalPausedMs = 99_999 }).ElapsedMs(11_000), Is.Zero, "never negative");
        // server_now is never shown before the latest committed moment of the clock.
        Assert.That(running.ToSnapshot(0).ServerNow, Is.EqualTo(ClockTime.Iso(1_500)));
    }

    [Test]
    public void Notification_IsRead_AsTheDatabaseWritesIt()
    {
        var id = Guid.NewGuid();
        Assert.That(ClockState.TryParseNotification($$"""
            {"ended_at": null, "is_paused": true, "session_id": "{{id}}", "started_at": "2026-01-01T12:00:00.000Z",
             "total_paused_ms": 1500, "last_state_change_at": "2026-01-01T12:01:00.250Z"}
            """, out var session, out var state), Is.True);
        Assert.That(session, Is.EqualTo(id));
        Assert.That(state, Is.EqualTo(new ClockState(id, UnixMs(Db), null, true, 1500, UnixMs(Db.AddSeconds(60.25)))));

        Assert.That(ClockState.TryParseNotification($$"""{"session_id": "{{id}}", "deleted": true}""", out session, out state), Is.True);
        Assert.That(state, Is.Null);
        Assert.That(session, Is.EqualTo(id));

        foreach (var bad in new[] { "", "[]", "{}", """{"session_id": "x"}""", $$"""{"session_id": "{{id}}", "is_paused": 1}""" })
            Assert.That(ClockState.TryParseNotification(bad, out _, out _), Is.False, bad);
    }
}
