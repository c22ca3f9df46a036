using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Tests.Reconciliation;

/// <summary>
/// The worker around a scripted reconciler, on a fake host clock: it requeues at RecheckAt, leaves a failure to the
/// next poll, reconciles a few rooms at once but one room once, and reports under the request's source.
/// </summary>
public sealed class RoomWorkerTests
{
    private static readonly DateTimeOffset T = new(2026, 12, 3, 6, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);

    private FakeTimeProvider _time = null!;
    private Script _script = null!;
    private ServiceProvider _services = null!;
    private RoomQueue _queue = null!;
    private RoomWorker _worker = null!;

    [SetUp]
    public async Task StartWorker()
    {
        _time = new FakeTimeProvider(T);
        _script = new Script();
        _services = new ServiceCollection()
            .AddLogging().AddMetrics().AddOptions()
            .AddSingleton<TimeProvider>(_time).AddSingleton<RoomQueue>().AddSingleton<ReconcilerMetrics>().AddSingleton<TransitionLog>()
            .AddSingleton(_script).AddTransient<IRoomReconciler, Call>()
            .AddSingleton<RoomWorker>()
            .BuildServiceProvider();
        _queue = _services.GetRequiredService<RoomQueue>();
        _worker = _services.GetRequiredService<RoomWorker>();
        await _worker.StartAsync(CancellationToken.None);
    }

    [TearDown]
    public async Task StopWorker()
    {
        _script.Release.TrySetResult();
        await _worker.StopAsync(CancellationToken.None);
        _worker.Dispose();
        await _services.DisposeAsync();
    }

    private static RoomRequest Webhook(Guid session) => new(session, ClockSource.Webhook);

    private static DatabaseTime Clock() => new(T, Stopwatch.GetTimestamp());

    [Test]
    public async Task AGraceFoundRunning_IsReconciledAgainAtItsDeadline_UnderTheSameSource()
    {
        var session = Guid.NewGuid();
        var clock = Clock();
        var deadline = clock.Now + Grace;
        _script.Respond = r => Task.FromResult(new RoomResult([], r.DeadlineOnly ? null : deadline, clock));
        _queue.Enqueue(Webhook(session));
        await Script.Next(_script.Started);
        await Script.Next(_script.Finished);

        _time.Advance(Grace - TimeSpan.FromSeconds(1));
        await Script.Nothing(_script.Started, "not before the deadline");
        _time.Advance(TimeSpan.FromSeconds(2));
        var recheck = await Script.Next(_script.Started);
        Assert.That((recheck.SessionId, recheck.DeadlineOnly, recheck.Priority, recheck.Source),
            Is.EqualTo((session, true, RequestPriority.GraceDeadline, ClockSource.Webhook)));
        await Script.Next(_script.Finished);

        _time.Advance(TimeSpan.FromMinutes(5));
        await Script.Nothing(_script.Started, "a result without RecheckAt is not requeued");
    }

    [Test]
    public async Task AFailure_IsNotRetried_AndTheRoomIsFreeForItsNextRequest()
    {
        var session = Guid.NewGuid();
        var clock = Clock();
        var failing = true;
        _script.Respond = _ => failing ? throw new TimeoutException("LiveKit did not answer") : Task.FromResult(new RoomResult([], null, clock));
        _queue.Enqueue(Webhook(session));
        await Script.Next(_script.Started);
        await Script.Next(_script.Finished);

        _time.Advance(TimeSpan.FromMinutes(10));
        await Script.Nothing(_script.Started, "no retry, however long: the next poll looks at every room anyway");
        failing = false;
        _queue.Enqueue(Webhook(session));
        Assert.That((await Script.Next(_script.Started)).SessionId, Is.EqualTo(session), "the failed room was given back to the queue");
    }

    [Test]
    public async Task AFewRoomsAtOnce_ButOneRoomNeverTwice()
    {
        var clock = Clock();
        _script.Respond = async _ =>
        {
            await _script.Release.Task;
            return new RoomResult([], null, clock);
        };
        var rooms = Enumerable.Range(0, RoomWorker.ConcurrentRooms + 1).Select(_ => Guid.NewGuid()).ToArray();
        foreach (var room in rooms) _queue.Enqueue(Webhook(room));

        var first = new List<Guid>();
        for (var i = 0; i < RoomWorker.ConcurrentRooms; i++) first.Add((await Script.Next(_script.Started)).SessionId);
        Assert.That(first, Is.EquivalentTo(rooms.Take(RoomWorker.ConcurrentRooms)));
        await Script.Nothing(_script.Started, "the last room waits for a free worker");
        _queue.Enqueue(Webhook(rooms[0])); // while rooms[0] is being reconciled
        await Script.Nothing(_script.Started, "a room in reconcile is not taken again");

        _script.Release.SetResult();
        var rest = new[] { (await Script.Next(_script.Started)).SessionId, (await Script.Next(_script.Started)).SessionId };
        Assert.That(rest, Is.EquivalentTo(new[] { rooms[^1], rooms[0] }), "the waiting room, and the room's second request once its first was done");
        Assert.That(_script.MostAtOnce, Is.EqualTo(RoomWorker.ConcurrentRooms));
    }

    [Test]
    public async Task WhatAReconcileApplied_IsCountedUnderTheRequestsSource()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        var counted = new ConcurrentQueue<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "roomreconciler_clock_transitions_total") l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var labels = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            counted.Enqueue($"{labels["kind"]}/{labels["source"]}+{value}");
        });
        listener.Start();
        var session = Guid.NewGuid();
        var clock = Clock();
        _script.Respond = r => Task.FromResult(new RoomResult(
            [
                new AppliedTransition(r.SessionId, ApplyOutcome.Changed, ClockTransition.Paused, ClockDecider.ReasonPaused, null, T, T),
                new AppliedTransition(r.SessionId, ApplyOutcome.Unchanged, ClockTransition.Paused, ClockDecider.ReasonPaused, null, T, T),
            ], null, clock));
        _queue.Enqueue(Webhook(session));
        await Script.Next(_script.Finished);
        Assert.That(counted, Is.EqualTo(new[] { "paused/webhook+1" }), "only the change counts, labelled with the database's words");
    }

    /// <summary>What the scripted reconciler answers, and what the test sees of each call.</summary>
    private sealed class Script
    {
        private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);
        private int _inFlight;
        private int _mostAtOnce;

        public Func<RoomRequest, Task<RoomResult>> Respond { get; set; } = _ => throw new InvalidOperationException("no answer scripted");

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Channel<RoomRequest> Started { get; } = Channel.CreateUnbounded<RoomRequest>();

        /// <summary>Calls the worker is done with: it has reported and requeued, and disposed the call's scope.</summary>
        public Channel<RoomRequest> Finished { get; } = Channel.CreateUnbounded<RoomRequest>();

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public async Task<RoomResult> RunAsync(RoomRequest request)
        {
            var now = Interlocked.Increment(ref _inFlight);
            int most;
            while (now > (most = Volatile.Read(ref _mostAtOnce)) && Interlocked.CompareExchange(ref _mostAtOnce, now, most) != most) { }
            Started.Writer.TryWrite(request);
            try { return await Respond(request); }
            finally { Interlocked.Decrement(ref _inFlight); }
        }

        public static async Task<RoomRequest> Next(Channel<RoomRequest> calls)
        {
            using var timeout = new CancellationTokenSource(Wait);
            return await calls.Reader.ReadAsync(timeout.Token);
        }

        public static async Task Nothing(Channel<RoomRequest> calls, string why)
        {
            await Task.Delay(Quiet);
            Assert.That(calls.Reader.TryRead(out var call), Is.False, $"{why}; got {call}");
        }
    }

    /// <summary>One reconcile, resolved in the worker's scope for its request; disposed with that scope.</summary>
    private sealed class Call(Script script) : IRoomReconciler, IDisposable
    {
        private RoomRequest? _request;

        public Task<RoomResult> ReconcileAsync(RoomRequest request, CancellationToken ct)
        {
            _request = request;
            return script.RunAsync(request);
        }

        public void Dispose()
        {
            if (_request is { } request) script.Finished.Writer.TryWrite(request);
        }
    }
}
