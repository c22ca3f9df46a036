using System.Collections.Immutable;
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Tests.Reconciliation;

/// <summary>The one work queue: one entry a room, requests merged, one room never in two workers, deadlines on the host's clock.</summary>
public sealed class RoomQueueTests
{
    private static readonly Guid Session = Guid.NewGuid();
    private static readonly DateTimeOffset T = new(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);

    private static RoomRequest Left(string identity, DateTimeOffset at) =>
        new(Session, ClockSource.Webhook, RequestPriority.Webhook, at, Departed: ImmutableHashSet.Create(StringComparer.Ordinal, identity), Look: false);

    private static RoomRequest Joined(string identity, DateTimeOffset at) =>
        new(Session, ClockSource.Webhook, RequestPriority.Webhook, ActiveHint: new ActiveHint(identity, at));

    [Test]
    public void TwoDepartures_MergeIntoOneDecidedWithoutALook()
    {
        var merged = Left("customer", T).Merge(Left("mechanic", T.AddSeconds(1)));
        Assert.That((merged.Look, merged.Departed!.Order().ToArray(), merged.DropHint), Is.EqualTo((false, new[] { "customer", "mechanic" }, (DateTimeOffset?)T.AddSeconds(1))));
    }

    [Test]
    public void ADepartureAndAJoin_MergeIntoTheDepartureThenALook()
    {
        var merged = Left("customer", T).Merge(Joined("customer", T.AddSeconds(2)));
        Assert.That((merged.Look, merged.HasDepartures, merged.Departed!.Single(), merged.ActiveHint?.Identity, merged.DropHint),
            Is.EqualTo((true, true, "customer", "customer", (DateTimeOffset?)T)), "the departure is kept, to be decided before the look");
    }

    [Test]
    public void ADeadlineAndAWebhook_KeepTheDeadlinesPriority_AndAreNoLongerADeadlineOnly()
    {
        var merged = RoomRequest.AtDeadline(Session, ClockSource.Poll).Merge(Joined("customer", T));
        Assert.That((merged.Priority, merged.DeadlineOnly, merged.Source, merged.Look),
            Is.EqualTo((RequestPriority.GraceDeadline, false, ClockSource.Webhook, true)));
        Assert.That(merged.HasDepartures, Is.False);
    }

    [Test]
    public async Task ABurstForOneRoom_IsReconciledOnce_AndNeverByTwoWorkersAtOnce()
    {
        using var queue = new RoomQueue(TimeProvider.System);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await using var reader = queue.ReadAllAsync(stop.Token).GetAsyncEnumerator(stop.Token);
        for (var i = 0; i < 5; i++) queue.Enqueue(Left("p" + i, T.AddSeconds(i)));

        Assert.That(await reader.MoveNextAsync(), Is.True);
        Assert.That(reader.Current.Departed, Has.Count.EqualTo(5), "five webhooks, one reconcile");
        queue.Enqueue(Joined("p0", T.AddSeconds(9))); // arrives while the room is being reconciled
        var next = reader.MoveNextAsync().AsTask();
        await NotYet(next, "not handed to a second worker while the first has the room");
        queue.Done(Session);
        Assert.That(await next, Is.True);
        Assert.That(reader.Current.ActiveHint?.Identity, Is.EqualTo("p0"));
    }

    [Test]
    public async Task ARecheck_IsQueuedAtItsDeadline_OnTheHostsClock_OncePerDeadline()
    {
        await using var host = new FakeClockQueue();
        var (time, queue, reader, clock) = (host.Time, host.Queue, host.Reader, host.Clock);
        var deadline = clock.Now + TimeSpan.FromSeconds(30);
        queue.RecheckAt(Session, deadline, clock, ClockSource.Webhook);
        queue.RecheckAt(Session, deadline, clock, ClockSource.Poll); // the same deadline, seen again by a poll

        var next = reader.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromSeconds(29));
        await NotYet(next, "not before the deadline");
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await next, Is.True);
        Assert.That((reader.Current.DeadlineOnly, reader.Current.Priority, reader.Current.Source),
            Is.EqualTo((true, RequestPriority.GraceDeadline, ClockSource.Webhook)));
        queue.Done(Session);
        var again = reader.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromMinutes(1));
        await NotYet(again, "one recheck per deadline");
        await host.Stop.CancelAsync();
        Assert.That(async () => await again, Throws.InstanceOf<OperationCanceledException>(), "the reader stops with the host");
    }

    [Test]
    public async Task ANewDeadline_ReplacesTheOneBefore()
    {
        await using var host = new FakeClockQueue();
        var (time, queue, reader, clock) = (host.Time, host.Queue, host.Reader, host.Clock);
        queue.RecheckAt(Session, clock.Now + TimeSpan.FromSeconds(30), clock, ClockSource.Webhook);
        queue.RecheckAt(Session, clock.Now + TimeSpan.FromSeconds(60), clock, ClockSource.Poll); // the grace began again

        var next = reader.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromSeconds(31));
        await NotYet(next, "the replaced deadline does not fire");
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.That(await next, Is.True);
        Assert.That((reader.Current.DeadlineOnly, reader.Current.Source), Is.EqualTo((true, ClockSource.Poll)));
    }

    [Test]
    public async Task ADeadlineAlreadyPast_IsQueuedAtOnce()
    {
        await using var host = new FakeClockQueue();
        var (time, queue, reader, clock) = (host.Time, host.Queue, host.Reader, host.Clock);
        queue.RecheckAt(Session, clock.Now - TimeSpan.FromSeconds(1), clock, ClockSource.Poll);
        Assert.That(await reader.MoveNextAsync(), Is.True, "without the host's clock moving on");
        Assert.That((reader.Current.SessionId, reader.Current.DeadlineOnly), Is.EqualTo((Session, true)));
    }

    [Test]
    public async Task WhenFull_ANewRoomIsDropped_AQueuedRoomStillMerges_AndDrainingMakesRoom()
    {
        using var queue = new RoomQueue(TimeProvider.System);
        var rooms = Enumerable.Range(0, RoomQueue.MaxRooms).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var room in rooms) queue.Enqueue(new RoomRequest(room, ClockSource.Webhook));
        queue.Enqueue(new RoomRequest(Guid.NewGuid(), ClockSource.Webhook)); // one room too many: the next poll will see it
        queue.Enqueue(new RoomRequest(rooms[0], ClockSource.Webhook, Departed: ImmutableHashSet.Create(StringComparer.Ordinal, "customer")));

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await using var reader = queue.ReadAllAsync(stop.Token).GetAsyncEnumerator(stop.Token);
        var taken = new List<RoomRequest>();
        for (var i = 0; i < RoomQueue.MaxRooms; i++)
        {
            Assert.That(await reader.MoveNextAsync(), Is.True);
            taken.Add(reader.Current);
            queue.Done(reader.Current.SessionId);
        }
        Assert.That(taken.Select(r => r.SessionId), Is.EqualTo(rooms), "every queued room once, in the order they came");
        Assert.That(taken[0].Departed, Is.EquivalentTo(new[] { "customer" }), "a room already queued still takes what arrives for it");

        var next = reader.MoveNextAsync().AsTask();
        await NotYet(next, "the room that came while the queue was full was dropped");
        var later = Guid.NewGuid();
        queue.Enqueue(new RoomRequest(later, ClockSource.Webhook));
        Assert.That(await next, Is.True);
        Assert.That(reader.Current.SessionId, Is.EqualTo(later), "drained, the queue takes new rooms again");
    }

    /// <summary>The reader is still waiting a moment later: nothing was handed out.</summary>
    private static async Task NotYet(Task<bool> next, string why)
    {
        await Task.Delay(100);
        Assert.That(next.IsCompleted, Is.False, why);
    }

    /// <summary>A queue on a fake host clock, read as a worker reads it, and a database time read just now.</summary>
    private sealed class FakeClockQueue : IAsyncDisposable
    {
        public FakeClockQueue()
        {
            Queue = new RoomQueue(Time);
            Reader = Queue.ReadAllAsync(Stop.Token).GetAsyncEnumerator(Stop.Token);
        }

        public FakeTimeProvider Time { get; } = new(T);

        public RoomQueue Queue { get; }

        public CancellationTokenSource Stop { get; } = new(TimeSpan.FromSeconds(5));

        public IAsyncEnumerator<RoomRequest> Reader { get; }

        public DatabaseTime Clock { get; } = new(T, Stopwatch.GetTimestamp());

        public async ValueTask DisposeAsync()
        {
            await Reader.DisposeAsync();
            Queue.Dispose();
            Stop.Dispose();
        }
    }
}
