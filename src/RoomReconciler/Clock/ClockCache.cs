using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using Npgsql;

namespace RoomReconciler.Clock;

/// <summary>
/// Clock snapshots served from memory, kept exact by the session_clock notifications that
/// <see cref="ClockListener"/> feeds in. Only trusted while the listener is connected; otherwise every
/// lookup goes to the database. The ordering argument (versions, the swap of the whole map) is in README.md.
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

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<Guid, Lazy<Task<ClockAnswer>>> _loading = new();
    private volatile ConcurrentDictionary<Guid, ClockEntry>? _entries;
    private int _count;
    private long _version;

    /// <summary>True while the listener is connected: then the map holds every change it was told about.</summary>
    public bool IsTrusted => _entries is not null;

    /// <summary>The answer for one id: from memory when trusted, else (or on a miss) from the database.</summary>
    /// <exception cref="ClockUnavailableException">the database was needed and could not be asked</exception>
    public ValueTask<ClockAnswer> GetAsync(Guid sessionId)
    {
        if (_entries is { } entries && entries.TryGetValue(sessionId, out var entry) && clock.TryGetNow(out var now))
            return ValueTask.FromResult(new ClockAnswer(entry, now));
        return new ValueTask<ClockAnswer>(LoadAsync(sessionId));
    }

    /// <summary>A fresh read from the database, shared by the lookups of one id that arrive while it runs.</summary>
    public Task<ClockAnswer> LoadAsync(Guid sessionId)
    {
        var load = _loading.GetOrAdd(sessionId, id => new Lazy<Task<ClockAnswer>>(() => LoadOneAsync(id)));
        return load.Value;
    }

    private async Task<ClockAnswer> LoadOneAsync(Guid sessionId)
    {
        try
        {
            await using var connection = await database.OpenConnectionAsync();
            return (await LoadAsync(connection, [sessionId])).Single();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or SocketException or IOException)
        {
            throw new ClockUnavailableException(e);
        }
        finally
        {
            _loading.TryRemove(sessionId, out _);
        }
    }

    /// <summary>Reads the given sessions on <paramref name="connection"/> and puts them in the map if it is trusted.</summary>
    private async Task<List<ClockAnswer>> LoadAsync(NpgsqlConnection connection, Guid[] sessionIds, CancellationToken cancellationToken = default)
    {
        // Captured before the query: see README.md, "Why the cache is exact".
        var entries = _entries;
        var version = Interlocked.Increment(ref _version);
        await using var command = new NpgsqlCommand(LoadSql, connection) { Parameters = { new() { Value = sessionIds } } };
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
    /// The listener is connected (LISTEN already issued on <paramref name="connection"/>): start a new, trusted
    /// map and give every stream subscriber a fresh snapshot, read on that connection.
    /// </summary>
    public async Task RebuildAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _entries = new();
            _count = 0;
        }
        // The pool's idle connections most likely died with the listener's: drop them rather than fail a request on each.
        database.Clear();
        foreach (var answer in await LoadAsync(connection, [.. streams.SessionIds], cancellationToken))
            streams.Publish(answer.Entry);
        metrics.ListenerConnected(true);
    }

    /// <summary>The listener is gone: changes may be missed from now on, so nothing in memory is served.</summary>
    public void Distrust()
    {
        lock (_gate)
        {
            _entries = null;
            _count = 0;
        }
        metrics.ListenerConnected(false);
    }

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
