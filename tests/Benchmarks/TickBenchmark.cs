using System.Diagnostics;
using LiveKitSimulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoomReconciler.Hosting;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// One reconcile tick at 1k, 10k and 100k active sessions against the LiveKit simulator and a real PostgreSQL:
/// wall time, database round trips, LiveKit calls and memory, beside the naive loop (a call per session)
/// (ListParticipants and one pause/resume RPC per session per tick), in the same run on the same data.
/// Each measured tick follows a churn: 0.5% of the rooms lose their customer, 0.5% get theirs back. It also shows the
/// call budget (1 + rooms changed + ⌈rooms / 6⌉, the last for verifying rooms whose listing did not change) and that
/// every room was looked at within six ticks. Then the same sizes with the LiveKit request budget off and on
/// (<see cref="MeasureBudgetAsync"/>): calls a minute, the verification period and the tick time.
/// </summary>
public static class TickBenchmark
{
    private const double ChurnFraction = 0.005;
    // The naive loop costs a LiveKit call and a SQL call per session; past this many it is timed on a sample and scaled.
    private const int NaiveSampleLimit = 10_000;

    /// <param name="budgets">the LiveKit:RequestsPerMinute values measured per size (0: no limit)</param>
    public static async Task RunAsync(IReadOnlyList<int> sizes, int ticks, bool budgetOnly, IReadOnlyList<int> budgets)
    {
        Console.Error.WriteLine($"tick benchmark: {string.Join(", ", sizes)} sessions, {Math.Max(ticks, ClockReconciler.VerifyEveryTicks)} measured ticks each, {Environment.ProcessorCount} cores");
        await using var cluster = await PostgresCluster.StartAsync();
        var rows = new List<string>();
        var budgetRows = new List<string>();
        foreach (var size in sizes)
        {
            if (!budgetOnly) rows.Add(await MeasureAsync(await Tools.MigratedDatabaseAsync(cluster, $"tick{size}"), size, ticks));
            NpgsqlConnection.ClearAllPools();
            foreach (var limit in budgets)
            {
                budgetRows.Add(await MeasureBudgetAsync(await Tools.MigratedDatabaseAsync(cluster, $"budget{size}_{limit}"), size, limit));
                NpgsqlConnection.ClearAllPools();
            }
        }
        Console.WriteLine();
        if (!budgetOnly)
        {
            Console.WriteLine("| sessions | tick (median) | naive loop | speed-up | DB round trips / tick | LiveKit calls / tick (rooms changed) | budget 1 + changed + ⌈n/6⌉ | rooms looked at within 6 ticks | allocated / tick | peak RSS |");
            Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var row in rows) Console.WriteLine(row);
            Console.WriteLine();
        }
        Console.WriteLine($"| sessions | LiveKit:RequestsPerMinute | calls a minute | most in any minute | verification period | tick (median) |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var row in budgetRows) Console.WriteLine(row);
    }

    public const int DefaultBudget = 600;
    // The budget's minute and the 10 s poll, compressed together: a minute in 3 s, a tick every 0.5 s.
    private const int Compression = 20;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(10);
    private const int BudgetTicks = 3 * 6;

    /// <summary>
    /// Three minutes of ticks (18 at the 10 s poll, compressed 20×, with the budget's window compressed alike) with the
    /// same churn, against a simulator that counts every call's arrival: calls a minute, the most in any one minute,
    /// the verification period the ticks report, and the median tick.
    /// </summary>
    private static async Task<string> MeasureBudgetAsync(string connectionString, int size, int limit)
    {
        var window = TimeSpan.FromMinutes(1) / Compression;
        await using var sim = await SimulatorServer.StartAsync(new SimulatorOptions { WebhooksEnabled = false, RateLimitWindow = window });
        var ids = await LiveSessionsAsync(connectionString, sim, size);
        // The first look at every room, unbudgeted: the state a daemon that has been running is in.
        await using (var warm = Services(connectionString, sim.Url, new CommandCounter(), requestsPerMinute: 0))
            await warm.GetRequiredService<ClockReconciler>().ReconcileAllAsync(CancellationToken.None);
        await using var services = Services(connectionString, sim.Url, new CommandCounter(), limit, window);
        var reconciler = services.GetRequiredService<ClockReconciler>();
        var random = new Random(size);
        var absent = new HashSet<Guid>();
        var times = new List<double>();
        var verified = 0;
        sim.RateLimit.Reset();
        var calls = 0;
        var every = Poll / Compression;
        var started = Stopwatch.StartNew();
        for (var t = 0; t < BudgetTicks; t++)
        {
            var due = every * t - started.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due);
            Churn(sim, ids, absent, random);
            var before = sim.Calls.Total;
            var watch = Stopwatch.StartNew();
            var tick = await reconciler.ReconcileAllAsync(CancellationToken.None);
            times.Add(watch.Elapsed.TotalMilliseconds);
            calls += sim.Calls.Total - before;
            verified += tick.Verified;
        }
        // A tick longer than its slot makes the run longer than three minutes of compressed time: count calls per minute as it ran.
        var minutes = Math.Max(started.Elapsed.TotalMinutes * Compression, BudgetTicks * Poll.TotalMinutes);
        // Every room is looked at once in size / (verification looks a minute) minutes, the steady state of the rotation.
        TimeSpan? period = verified > 0 ? TimeSpan.FromMinutes(size / (verified / minutes)) : null;
        Console.Error.WriteLine($"  {size} sessions, budget {limit}: {calls} calls in {minutes:F1} min, tick {Median(times):F0} ms");
        return $"| {size:N0} | {(limit == 0 ? "0 (no limit)" : limit)} | {calls / minutes:N0} | {sim.RateLimit.MostInAnyWindow(window):N0} " +
               $"| {(period is { } p ? $"{p.TotalSeconds:N0} s" : "—")} | {Median(times):F0} ms |";
    }

    private static async Task<string> MeasureAsync(string connectionString, int size, int ticks)
    {
        await using var sim = await SimulatorServer.StartAsync(new SimulatorOptions { WebhooksEnabled = false });
        var ids = await LiveSessionsAsync(connectionString, sim, size);

        var commands = new CommandCounter();
        await using var services = Services(connectionString, sim.Url, commands);
        var reconciler = services.GetRequiredService<ClockReconciler>();
        await reconciler.ReconcileAllAsync(CancellationToken.None); // the first look reads every room once
        await using (var check = NpgsqlDataSource.Create(connectionString))
        {
            await using var count = check.CreateCommand("SELECT count(*) FROM roomreconciler.session_presence WHERE room_sid IS NOT NULL");
            Console.Error.WriteLine($"  {size}: warmed up; {await count.ExecuteScalarAsync()} rooms remembered");
        }

        var random = new Random(size);
        var absent = new HashSet<Guid>();
        var times = new List<double>();
        var roundTrips = new List<long>();
        var calls = new List<int>();
        var changed = new List<int>();
        var allocated = new List<long>();
        var store = services.GetRequiredService<SessionStore>();
        var (_, before) = await store.LoadAsync(CancellationToken.None);
        var windowStart = before.Now;
        // At least six, so that every room whose listing never changed has come up for verification.
        for (var t = 0; t < Math.Max(ticks, ClockReconciler.VerifyEveryTicks); t++)
        {
            changed.Add(Churn(sim, ids, absent, random));
            sim.Calls.Reset();
            commands.Reset();
            var allBytes = GC.GetTotalAllocatedBytes(precise: true);
            var watch = Stopwatch.StartNew();
            await reconciler.ReconcileAllAsync(CancellationToken.None);
            times.Add(watch.Elapsed.TotalMilliseconds);
            allocated.Add(GC.GetTotalAllocatedBytes(precise: true) - allBytes);
            roundTrips.Add(commands.Count);
            calls.Add(sim.Calls.Total);
        }

        var (after, _) = await store.LoadAsync(CancellationToken.None);
        var verified = after.Count(r => r.Session.ObservedAt >= windowStart);
        var budget = 1 + changed.Max() + (size + ClockReconciler.VerifyEveryTicks - 1) / ClockReconciler.VerifyEveryTicks;
        var naive = await NaiveLoopAsync(services, ids, Math.Min(size, NaiveSampleLimit));
        var naiveMs = naive * size / Math.Min(size, NaiveSampleLimit);
        var tick = Median(times);
        Console.Error.WriteLine($"  {size}: tick {tick:F0} ms, naive {naiveMs:F0} ms");
        return $"| {size:N0} | {tick:F0} ms | {naiveMs:F0} ms{(size > NaiveSampleLimit ? " (from 10k)" : "")} | {naiveMs / tick:F0}× " +
               $"| {roundTrips.Max()} | {calls.Max()} ({changed.Max()}) | {budget} | {verified:N0} of {after.Count:N0} | {Median(allocated.Select(b => b / 1048576.0).ToList()):F0} MB " +
               $"| {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MB |";
    }

    /// <summary>N running sessions, each with a customer and a mechanic in its room.</summary>
    private static async Task<Guid[]> LiveSessionsAsync(string connectionString, SimulatorServer sim, int size)
    {
        var ids = Enumerable.Range(0, size).Select(_ => Guid.NewGuid()).ToArray();
        await using (var insert = NpgsqlDataSource.Create(connectionString))
        {
            await using var command = insert.CreateCommand("""
                INSERT INTO sessions (id, started_at, last_state_change_at)
                SELECT id, now() - interval '1 hour', now() - interval '1 hour' FROM unnest($1::uuid[]) id
                """);
            command.Parameters.AddWithValue(ids);
            command.CommandTimeout = 600; // 100k rows with their triggers, on a busy machine
            await command.ExecuteNonQueryAsync();
        }
        foreach (var id in ids)
        {
            sim.Rooms.Join(id.ToString("D"), "customer");
            sim.Rooms.Join(id.ToString("D"), "mechanic");
        }
        return ids;
    }

    /// <summary>Some customers leave, some come back; returns how many rooms changed.</summary>
    private static int Churn(SimulatorServer sim, Guid[] ids, HashSet<Guid> absent, Random random)
    {
        var count = Math.Max(1, (int)(ids.Length * ChurnFraction));
        foreach (var id in absent.Take(count).ToList())
        {
            sim.Rooms.Join(id.ToString("D"), "customer");
            absent.Remove(id);
        }
        var left = 0;
        while (left < count)
        {
            var id = ids[random.Next(ids.Length)];
            if (!absent.Add(id)) continue;
            sim.Rooms.Leave(id.ToString("D"), "customer");
            left++;
        }
        return count * 2;
    }

    /// <summary>The naive loop: per session, ask LiveKit for its participants and call pause or resume.</summary>
    private static async Task<double> NaiveLoopAsync(ServiceProvider services, Guid[] ids, int sample)
    {
        var client = services.GetRequiredService<RoomServiceClient>();
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        var watch = Stopwatch.StartNew();
        foreach (var id in ids.Take(sample))
        {
            var participants = await client.ListParticipants(id.ToString("D"), CancellationToken.None);
            var present = participants.Count(p => p.Kind == RoomReconciler.LiveKit.ParticipantKind.Standard && !p.IsHidden);
            await using var command = dataSource.CreateCommand(present < 2
                ? "SELECT session_clock_pause($1, 'participant_disconnected')"
                : "SELECT session_clock_resume($1, 'participants_reconnected')");
            command.Parameters.AddWithValue(id);
            await command.ExecuteScalarAsync();
        }
        return watch.Elapsed.TotalMilliseconds;
    }

    private static ServiceProvider Services(string connectionString, string liveKitUrl, CommandCounter commands, int requestsPerMinute = 0,
        TimeSpan? window = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LiveKit:Url"] = liveKitUrl, ["LiveKit:ApiKey"] = "devkey", ["LiveKit:ApiSecret"] = "secret",
            ["LiveKit:RequestsPerMinute"] = requestsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["LiveKit:RequestWindow"] = (window ?? TimeSpan.FromMinutes(1)).ToString("c"),
            ["Reconciler:GracePeriod"] = "00:00:00", ["Reconciler:PollInterval"] = Poll.ToString("c"),
        }).Build();
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddSingleton<IConfiguration>(configuration);
        services.AddLiveKit(configuration);
        services.AddKeyedOptions<ReconcilerOptions>(configuration);
        services.AddSingleton(RoomServiceBudget.For(Poll));
        services.AddSingleton(new NpgsqlDataSourceBuilder(connectionString).UseLoggerFactory(commands.LoggerFactory).Build());
        services.AddSingleton<SessionStore>();
        services.AddTransient<ClockReconciler>();
        services.AddTransient<ILiveKitRooms, LiveKitRooms>();
        return services.BuildServiceProvider();
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);


    /// <summary>Counts the commands Npgsql sends (its Debug "Executing" log line), i.e. the database round trips.</summary>
    private sealed class CommandCounter : ILoggerProvider, ILogger
    {
        private long _count;
        public long Count => Interlocked.Read(ref _count);
        public void Reset() => Interlocked.Exchange(ref _count, 0);
        public ILoggerFactory LoggerFactory => Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(this));
        public ILogger CreateLogger(string categoryName) => categoryName == "Npgsql.Command" ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (formatter(state, exception).StartsWith("Command execution completed", StringComparison.Ordinal)) Interlocked.Increment(ref _count);
        }
        public void Dispose() { }
    }
}
