using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.Database;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Database;

/// <summary>
/// Installing into an application's database that already holds months of sessions: nothing historical changes,
/// the history costs neither a tick nor a LiveKit call, the calls live at the cutover are picked up, and sessions
/// made afterwards are looked after as on a fresh install.
/// </summary>
public sealed class BrownfieldTests
{
    private const int History = 5_000;

    /// <summary>The two shapes seen in the wild: no ended_at (the application's own completed_at), or an ended_at left null.</summary>
    public enum Shape { CompletedAtOnly, EndedAtLeftNull }

    [Test]
    public async Task Install_ChangesNothingHistorical_AndAdoptsOnlyTheLiveCalls([Values] Shape shape)
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        await TestDatabase.ExecuteAsync(connectionString, shape == Shape.CompletedAtOnly
            ? $"""
              CREATE TABLE sessions (id uuid PRIMARY KEY, customer text NOT NULL, started_at timestamptz, completed_at timestamptz);
              INSERT INTO sessions
              SELECT md5('history' || g)::uuid, 'c' || g, now() - interval '120 days' + g * interval '30 minutes',
                     now() - interval '120 days' + g * interval '30 minutes' + interval '45 minutes'
              FROM generate_series(1, {History}) g;
              """
            : $"""
              CREATE TABLE sessions (id uuid PRIMARY KEY, customer text NOT NULL, started_at timestamptz, ended_at timestamptz);
              INSERT INTO sessions
              SELECT md5('history' || g)::uuid, 'c' || g, now() - interval '120 days' + g * interval '30 minutes', NULL
              FROM generate_series(1, {History}) g;
              """);
        // Three calls in progress at the cutover: the application started them ten minutes ago.
        var live = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid()).ToArray();
        await TestDatabase.ExecuteAsync(connectionString,
            $"INSERT INTO sessions (id, customer, started_at) SELECT unnest(ARRAY['{string.Join("','", live)}']::uuid[]), 'live', now() - interval '10 minutes'");
        var before = await ColumnsAsync(connectionString);
        var historyBefore = await ColumnsAsync(connectionString, "customer LIKE 'c%'");

        await using (var listener = new NpgsqlConnection(connectionString))
        {
            await listener.OpenAsync();
            await using (var listen = new NpgsqlCommand("LISTEN session_clock", listener)) await listen.ExecuteNonQueryAsync();
            new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate();
            Assert.That(await listener.WaitAsync(TimeSpan.FromMilliseconds(500)), Is.False, "the install announced no clock change");
        }

        await using var db = new ClockDatabase(connectionString);
        Assert.That(await ColumnsAsync(connectionString), Is.EqualTo(before), "no column of any existing row changed");
        Assert.That(await ScalarAsync(db, "SELECT count(*) FROM roomreconciler.session_events"), Is.Zero, "no event was made up");
        Assert.That(await ScalarAsync(db, "SELECT count(*) FROM sessions WHERE clock_tracked"), Is.Zero);
        var historical = await db.GetAsync(Guid.Parse(await ScalarTextAsync(db, "SELECT md5('history1')::uuid::text")));
        Assert.That((historical.Elapsed(), historical.Time("started_at"), historical.Paused()), Is.EqualTo((0L, (DateTime?)null, false)),
            "a session the clock never tracked does not report months of running time");

        // A session booked after the install, started, whose room never appears: it pauses after the grace, as before.
        var booked = Guid.NewGuid();
        await TestDatabase.ExecuteAsync(connectionString, $"INSERT INTO sessions (id, customer) VALUES ('{booked}', 'booked')");
        await db.TransitionAsync("start", booked, null);

        var options = new ReconcilerOptions { GracePeriod = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromSeconds(1) };
        var liveKit = new LiveRooms(live.Select(id => new ListedRoom(options.Rooms().For(id), "RM_" + id.ToString("N")[..8], 2)).ToList());
        var reconciler = new ClockReconciler(new SessionStore(db.DataSource), liveKit, new FixedOptions<ReconcilerOptions>(options),
            NullLogger<ClockReconciler>.Instance);

        var first = await reconciler.ReconcileAllAsync(CancellationToken.None);
        Assert.That(first.Sessions, Is.EqualTo(live.Length + 1), "a tick loads the booked session and the adopted live calls, not the history");
        // Each read is a poll tick: the grace of the booked session runs from the first.
        await Eventually.Async(async () =>
            {
                await reconciler.ReconcileAllAsync(CancellationToken.None);
                return (await db.GetAsync(booked)).Paused();
            }, paused => paused, TimeSpan.FromSeconds(20), "the booked session to pause after its grace");

        var liveRooms = live.Select(options.Rooms().For).ToHashSet();
        Assert.That(liveKit.RoomsAsked.Distinct(), Is.SubsetOf(liveRooms), "LiveKit is asked about the live rooms only");
        // The call budget of a tick: 1 + rooms whose listing changed (the 3 live ones, once) + ⌈running / 6⌉ verifications.
        Assert.That(liveKit.RoomsAsked, Has.Count.AtMost(live.Length + liveKit.Listings * (int)Math.Ceiling((live.Length + 1) / 6.0)),
            "within the tick's call budget");
        Assert.That(await ScalarAsync(db, "SELECT count(*) FROM sessions WHERE clock_tracked"), Is.EqualTo(live.Length + 1),
            "the live calls were adopted, the history was not");
        foreach (var id in live)
        {
            var clock = await db.GetAsync(id);
            Assert.That((clock.Paused(), clock.Elapsed() >= 9 * 60_000), Is.EqualTo((false, true)), "an adopted call runs from the application's start");
        }
        Assert.That(await ScalarAsync(db, "SELECT count(*) FROM roomreconciler.session_events WHERE session_id <> '" + booked + "'"), Is.Zero,
            "no event about the history or the adopted calls, whose clocks nothing moved");
        Assert.That(await ColumnsAsync(connectionString, "customer LIKE 'c%'"), Is.EqualTo(historyBefore),
            "the history is as the application left it");
        Assert.That(await ScalarAsync(db, "SELECT count(*) FROM sessions WHERE customer LIKE 'c%' AND (is_paused OR total_paused_ms <> 0 OR clock_tracked)"),
            Is.Zero, "and its clock columns at their defaults");
    }

    /// <summary>A fingerprint of the rows' columns.</summary>
    private static async Task<string> ColumnsAsync(string connectionString, string where = "true")
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // Every column the application had, whatever its shape; the columns the install adds are null or defaults.
        await using var command = new NpgsqlCommand($"""
            SELECT md5(string_agg((jsonb_strip_nulls(to_jsonb(s)) - 'is_paused' - 'total_paused_ms' - 'clock_tracked')::text, ',' ORDER BY s.id))
            FROM sessions s WHERE {where}
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> ScalarAsync(ClockDatabase db, string sql)
    {
        await using var command = db.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private static async Task<string> ScalarTextAsync(ClockDatabase db, string sql)
    {
        await using var command = db.DataSource.CreateCommand(sql);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// LiveKit with the given rooms live, a customer and a mechanic in each since ten minutes ago, and no request budget
    /// (every look is affordable); it records each room it was asked about and how many listings it gave.
    /// </summary>
    private sealed class LiveRooms(IReadOnlyList<ListedRoom> rooms) : ILiveKitRooms
    {
        private readonly IReadOnlyList<ObservedParticipant> _participants = new[] { "customer", "mechanic" }
            .Select(p => new ObservedParticipant(p, ParticipantCategory.Standard, Hidden: false, Active: true,
                DateTimeOffset.UtcNow.AddMinutes(-10)))
            .ToList();
        private readonly ConcurrentQueue<string> _roomsAsked = new();
        private int _listings;

        public IReadOnlyCollection<string> RoomsAsked => _roomsAsked;
        public int Listings => Volatile.Read(ref _listings);

        public Task<IReadOnlyList<ListedRoom>> ListRoomsAsync(CancellationToken ct)
        {
            Interlocked.Increment(ref _listings);
            return Task.FromResult(rooms);
        }

        public Task<IReadOnlyList<ObservedParticipant>> ListParticipantsAsync(string room, RequestPriority priority,
            CancellationToken ct)
        {
            _roomsAsked.Enqueue(room);
            return Task.FromResult(_participants);
        }

        public ValueTask<int> AffordAsync(RequestPriority priority, int wanted, TimeSpan? every, CancellationToken ct) => ValueTask.FromResult(wanted);
    }

    /// <summary>Options that never change.</summary>
    private sealed class FixedOptions<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;
        public T Get(string? name) => value;
        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
