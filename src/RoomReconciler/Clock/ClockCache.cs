using System.Collections.Concurrent;
using System.Text.Json;
using Npgsql;
using RoomReconciler.Database;

namespace RoomReconciler.Clock;

/// <summary>
/// Clock snapshots served from memory, kept exact by the session_clock notifications that
/// <see cref="ClockListener"/> feeds in. Only trusted while the listener is connected and its probe answered within
/// <see cref="VouchFor"/>; otherwise every lookup goes to the database, for at most <see cref="DatabaseWait"/>.
/// The ordering argument (versions, the swap of the whole map) and the bounds are in README.md.
/// </summary>
public sealed class ClockCache(NpgsqlDataSource database, DatabaseClock clock, ClockStreams streams, ClockMetrics metrics, ILogger<ClockCache> log)
{
    /// <summary>Past this many entries the map is dropped and refilled on demand, so a flood of random ids cannot grow memory.</summary>
    public const int MaxEntries = 250_000;

    private const string LoadSql = """
        SELECT q.id, s.id IS NOT NULL,
               -- The snapshot the notifications carry, so the cache follows the same rules (an untracked session
               -- reads as not started) without a copy of them here.
               roomreconciler.session_clock_snapshot(s, NULL)::text,
               clock_timestamp()
        FROM unnest($1::uuid[]) AS q(id) LEFT JOIN sessions s ON s.id = q.id
        """;

    /// <summary>
    /// How long one answer of the listener's probe vouches for the map: three probe intervals, so one slow answer is
    /// forgiven and a silent network is noticed within this (README.md, "When the database goes silent").
    /// </summary>
    public static readonly TimeSpan VouchFor = ClockListener.ProbeInterval * 3;

    /// <summary>
    /// The longest a request waits for the database when memory cannot answer: then it is a 503, not a hang. Under a
    /// second, so that with the server's own overhead on a loaded machine no answer takes 1.5 s.
    /// </summary>
    public static readonly TimeSpan DatabaseWait = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// How long a miss waits for its batched read while the listener vouches: the database answers its probes, so a
    /// slow read is a storm of misses queued on a busy machine, not an absence. Should the listener stop vouching, the
    /// reads in flight and queued are failed at once (<see cref="Distrust"/>), so a silent path still ends them on time.
    /// </summary>
    public static readonly TimeSpan StormWait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The most ids one load reads. A connect storm's misses are read a batch at a time on one pooled connection;
    /// this many stays well inside <see cref="DatabaseWait"/> (a primary-key join, a few ms per thousand).
    /// </summary>
    public const int MaxBatch = 5_000;

    private readonly Lock _gate = new();
    // The ids being read or waiting for the next read, and those waiting; under _batchGate.
    private readonly Lock _batchGate = new();
    private readonly Dictionary<Guid, TaskCompletionSource<ClockAnswer>> _loading = [];
    private readonly List<Guid> _queued = [];
    private bool _batchRunning;
    private CancellationTokenSource? _batchCancel;
    private volatile ConcurrentDictionary<Guid, ClockEntry>? _entries;
    private int _count;
    private long _version;
    private long _vouchedAt;
    private long _readFailedAt;
    private volatile bool _rebuilding;

    /// <summary>
    /// True while the listener is connected and its probe answered within <see cref="VouchFor"/>: then the map
    /// holds every change committed until a moment ago. Computed on every read, so a silent connection stops
    /// vouching on time even while the listener's thread is still blocked waiting for it.
    /// </summary>
    public bool IsTrusted => _entries is not null && clock.ElapsedSince(Volatile.Read(ref _vouchedAt)) <= VouchFor;

    /// <summary>The listener's probe sent at <paramref name="sentAt"/> was answered: every notification committed before it has been applied.</summary>
    public void Vouch(long sentAt) => Volatile.Write(ref _vouchedAt, sentAt);

    /// <summary>
    /// The watchdog's look: a map that the probe no longer vouches for is dropped, the pool's connections with it
    /// (they share the path that went silent), and every stream is told.
    /// </summary>
    public void CheckVouch()
    {
        // A rebuild's reads may outlast the vouching window; the listener probes again as soon as they are done.
        if (_entries is null || IsTrusted || _rebuilding) return;
        log.LogWarning("Clock listener's probe unanswered for {Silence:0.0} s; not vouching for clocks until it reconnects",
            clock.ElapsedSince(Volatile.Read(ref _vouchedAt)).TotalSeconds);
        Distrust();
    }

    /// <summary>The answer for one id: from memory when trusted, else (or on a miss) from the database.</summary>
    /// <exception cref="ClockUnavailableException">the database was needed and could not be asked</exception>
    public ValueTask<ClockAnswer> GetAsync(Guid sessionId)
    {
        if (_entries is { } entries && IsTrusted && entries.TryGetValue(sessionId, out var entry) && clock.TryGetNow(out var now))
            return ValueTask.FromResult(new ClockAnswer(entry, now));
        return new ValueTask<ClockAnswer>(LoadAsync(sessionId));
    }

    /// <summary>
    /// A fresh read from the database, shared by the lookups of one id that arrive while it runs, and batched with the
    /// other ids missed meanwhile (README.md, "Connect storms"). While the listener
    /// does not vouch, refused at once for <see cref="DatabaseWait"/> after a read failed: on a silent path every
    /// request would otherwise wait out the bound only to be refused too.
    /// </summary>
    private async Task<ClockAnswer> LoadAsync(Guid sessionId)
    {
        if (!IsTrusted && clock.ElapsedSince(Volatile.Read(ref _readFailedAt)) < DatabaseWait)
            throw new ClockUnavailableException(new TimeoutException("a read from the database failed a moment ago"));
        try
        {
            // Given up at the bound even while the driver is still unwinding a read on a silent path.
            return await Enqueue(sessionId).WaitAsync(IsTrusted ? StormWait : DatabaseWait);
        }
        catch (Exception e) when (e is TimeoutException or ClockUnavailableException)
        {
            Volatile.Write(ref _readFailedAt, clock.GetTimestamp());
            throw e as ClockUnavailableException ?? new ClockUnavailableException(e);
        }
    }

    /// <summary>The answer for <paramref name="sessionId"/> from the next batched read, or from the one already coming for it.</summary>
    private Task<ClockAnswer> Enqueue(Guid sessionId)
    {
        lock (_batchGate)
        {
            if (_loading.TryGetValue(sessionId, out var loading)) return loading.Task;
            // Continuations off the loader, so that one batch's thousands of answers do not run on its thread in turn.
            loading = new TaskCompletionSource<ClockAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
            _loading[sessionId] = loading;
            _queued.Add(sessionId);
            if (!_batchRunning)
            {
                _batchRunning = true;
                _ = Task.Run(LoadBatchesAsync);
            }
            return loading.Task;
        }
    }

    /// <summary>
    /// One read at a time, each of every id queued meanwhile (at most <see cref="MaxBatch"/>), until none is left: a
    /// storm of misses holds one pooled connection rather than one each, which the pool could not give within the bound.
    /// </summary>
    private async Task LoadBatchesAsync()
    {
        while (true)
        {
            Guid[] batch;
            TaskCompletionSource<ClockAnswer>[] waiting;
            // The same bound for the read itself, so that a silent path does not pile up reads behind the answered requests.
            using var bounded = new CancellationTokenSource(IsTrusted ? StormWait : DatabaseWait);
            lock (_batchGate)
            {
                if (_queued.Count == 0)
                {
                    _batchRunning = false;
                    _batchCancel = null;
                    return;
                }
                var take = Math.Min(_queued.Count, MaxBatch);
                batch = [.. _queued.GetRange(0, take)];
                _queued.RemoveRange(0, take);
                waiting = [.. batch.Select(id => _loading[id])];
                _batchCancel = bounded;
            }
            metrics.CacheLoad(batch.Length);
            Exception? failed = null;
            List<ClockAnswer> answers = [];
            try
            {
                await using var connection = await database.OpenConnectionAsync(bounded.Token);
                answers = await LoadAsync(connection, batch, bounded.Token);
            }
            catch (Exception e) when (DatabaseFailure.IsUnavailable(e) || e is OperationCanceledException)
            {
                failed = new ClockUnavailableException(e);
            }
            catch (Exception e)
            {
                // Not the database's absence (an unreadable row, say): its waiters fail with it rather than hang.
                failed = e;
            }
            var byId = answers.ToDictionary(a => a.Entry.SessionId);
            lock (_batchGate)
            {
                _batchCancel = null;
                // Unless FailLoads has already let go of it (and the id is perhaps queued again, for a new read).
                for (var i = 0; i < batch.Length; i++)
                    if (_loading.TryGetValue(batch[i], out var held) && held == waiting[i]) _loading.Remove(batch[i]);
            }
            for (var i = 0; i < batch.Length; i++)
            {
                // Try: a waiter may have been failed by Distrust meanwhile.
                if (failed is null && byId.TryGetValue(batch[i], out var answer)) waiting[i].TrySetResult(answer);
                else waiting[i].TrySetException(failed ?? new InvalidOperationException($"the load of {batch.Length} sessions did not answer {batch[i]}"));
            }
        }
    }

    /// <summary>Reads the given sessions on <paramref name="connection"/> and puts them in the map if it is trusted.</summary>
    private async Task<List<ClockAnswer>> LoadAsync(NpgsqlConnection connection, Guid[] sessionIds, CancellationToken cancellationToken = default)
    {
        // Captured before the query: see README.md, "Why the cache is exact".
        var entries = _entries;
        var version = Interlocked.Increment(ref _version);
        // The listener's connection answers a probe within 1 s; reading every watched session may take longer.
        await using var command = new NpgsqlCommand(LoadSql, connection) { CommandTimeout = 5, Parameters = { new() { Value = sessionIds } } };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var answers = new List<ClockAnswer>(sessionIds.Length);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetGuid(0);
            ClockState? state = null;
            if (reader.GetBoolean(1))
            {
                using var snapshot = JsonDocument.Parse(reader.GetString(2));
                state = ClockState.FromJson(snapshot.RootElement);
            }
            var entry = new ClockEntry(id, state, version);
            if (entries is not null) Put(entries, entry);
            answers.Add(new ClockAnswer(entry, ClockTime.UnixMs(reader.GetDateTime(3))));
        }
        return answers;
    }

    /// <summary>Keeps the higher version of an id.</summary>
    private void Put(ConcurrentDictionary<Guid, ClockEntry> entries, ClockEntry entry)
    {
        if (entries.TryAdd(entry.SessionId, entry))
        {
            if (Interlocked.Increment(ref _count) > MaxEntries)
            {
                log.LogWarning("Clock cache passed {Max} entries; dropping it to refill on demand", MaxEntries);
                Replace(entries);
            }
            return;
        }
        entries.AddOrUpdate(entry.SessionId, entry, (_, held) => held.Version > entry.Version ? held : entry);
    }

    /// <summary>A session_clock notification. False when the payload is not understood: the caller must resynchronise.</summary>
    public bool Apply(string payload)
    {
        if (!ClockState.TryParseNotification(payload, out var sessionId, out var state))
        {
            log.LogWarning("Unreadable session_clock notification {Payload}; resynchronising", payload.Length > 200 ? payload[..200] : payload);
            return false;
        }
        ClockEntry entry;
        // Under the gate, so that no change lands in a map that Replace has just dropped.
        lock (_gate)
        {
            entry = new ClockEntry(sessionId, state, Interlocked.Increment(ref _version));
            if (_entries is { } entries) Put(entries, entry);
        }
        streams.Publish(entry);
        return true;
    }

    /// <summary>
    /// The listener is connected (LISTEN already issued on <paramref name="connection"/>, its probe answered): start
    /// a new, trusted map and give every stream subscriber a fresh snapshot, read on that connection.
    /// </summary>
    public async Task RebuildAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _entries = new();
            _count = 0;
            // The probe just answered on this connection, and the reads below travel it too, within their timeout:
            // a slow read (a cold process, many watched sessions) is not a silent path. The listener probes again
            // right after, and until then the watchdog waits.
            Vouch(clock.GetTimestamp());
            _rebuilding = true;
        }
        try
        {
            // The pool's idle connections most likely died with the listener's: drop them rather than fail a request on each.
            database.Clear();
            foreach (var answer in await LoadAsync(connection, [.. streams.SessionIds], cancellationToken))
                streams.Publish(answer.Entry);
        }
        finally
        {
            _rebuilding = false;
        }
        metrics.ListenerConnected(true);
    }

    /// <summary>
    /// The listener is gone or silent: changes may be missed from now on, so nothing in memory is served, and the
    /// open streams, which only memory feeds, are told and end.
    /// </summary>
    public void Distrust()
    {
        metrics.ListenerConnected(false);
        lock (_gate)
        {
            if (_entries is null) return;
            _entries = null;
            _count = 0;
        }
        FailLoads();
        database.Clear();
        streams.Unavailable();
    }

    /// <summary>
    /// The reads that waited on the vouching (<see cref="StormWait"/>) end now: every waiter, of the read in flight and
    /// of the queue, is refused at once (the driver may take a while to unwind a read on a silent path), so that its
    /// request can be retried elsewhere; the read in flight is cancelled.
    /// </summary>
    private void FailLoads()
    {
        List<TaskCompletionSource<ClockAnswer>> waiting;
        CancellationTokenSource? inFlight;
        lock (_batchGate)
        {
            inFlight = _batchCancel;
            waiting = [.. _loading.Values];
            _loading.Clear();
            _queued.Clear();
        }
        var unavailable = new ClockUnavailableException(new TimeoutException("the clock listener stopped vouching"));
        foreach (var waiter in waiting) waiter.TrySetException(unavailable);
        try
        {
            // Not here: Npgsql's callback sends a cancel request and waits for it, which must not hold up the watchdog.
            _ = inFlight?.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // That read had just ended.
        }
    }

    /// <summary>True once the map was dropped (a silence the watchdog noticed): the listener must rebuild it.</summary>
    public bool NeedsRebuild => _entries is null;

    /// <summary>The number of entries held, for the gauge.</summary>
    public int Count => _entries is null ? 0 : Volatile.Read(ref _count);

    private void Replace(ConcurrentDictionary<Guid, ClockEntry> full)
    {
        lock (_gate)
        {
            if (_entries != full) return;
            _entries = new();
            _count = 0;
        }
    }
}
