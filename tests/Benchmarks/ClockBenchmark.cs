using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Hosting;
using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// GET /clock/{id} of the real host (memory path, join tokens checked) under wrk, in turn with a bare app serving the same
/// snapshots (<see cref="SnapshotApp"/>), and against the ceiling of any
/// one-query-per-request server: pgbench calling session_clock_get on the same database. Then both at a fixed
/// 5,000 per second, and the delay from a pause's commit to 1,000 stream subscribers.
/// </summary>
public static class ClockBenchmark
{
    private const int Sessions = 10_000;
    private const int Connections = 64;
    private const int FixedRate = 5_000;
    private const int Subscribers = 1_000;
    private const string Database = "bench";

    public static async Task RunAsync(int seconds)
    {
        Log($"starting a throwaway PostgreSQL; {Sessions} sessions; {seconds} s per run on {Environment.ProcessorCount} cores");
        await using var cluster = await PostgresCluster.StartAsync();
        var connectionString = await Tools.MigratedDatabaseAsync(cluster, Database);
        var ids = await Tools.InsertNumberedSessionsAsync(connectionString, Sessions);

        await using var app = DaemonHost.Build([
            "--Urls=http://127.0.0.1:0", "--ConnectionStrings:Postgres=" + connectionString,
            "--LiveKit:Url=http://127.0.0.1:1", "--LiveKit:ApiKey=devkey", "--LiveKit:ApiSecret=secret",
            // The fan-out measure opens all its subscribers with one token.
            $"--ClockApi:MaxStreamsPerToken={Subscribers}",
            "--Serilog:MinimumLevel:Default=Warning"]);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        await WaitUntilTrustedAsync(app);

        var folder = Directory.CreateTempSubdirectory("clock-bench-").FullName;
        try
        {
            var tokens = ids.Select(id => AccessToken.Create("devkey", "secret", DateTimeOffset.UtcNow, TimeSpan.FromHours(2),
                new VideoGrants { RoomJoin = true, Room = id.ToString("D") }, identity: "bench")).ToArray();
            var saturate = WriteScript(folder, "saturate.lua", ids, tokens, delayMs: null);
            // wrk is closed-loop: each connection waits delayMs between requests, so the rate is set by the number of
            // connections, calibrated by a short probe (wrk's timers add a little to each delay).
            const int delayMs = 10;
            var paced = WriteScript(folder, "paced.lua", ids, tokens, delayMs);

            Log("warm-up (every id once, then 3 s of wrk)");
            using (var warm = new HttpClient { BaseAddress = address })
                foreach (var (id, token) in ids.Zip(tokens))
                    using (var request = new HttpRequestMessage(HttpMethod.Get, $"/clock/{id}") { Headers = { { "Authorization", "Bearer " + token } } })
                        (await warm.SendAsync(request)).EnsureSuccessStatusCode();
            await Tools.WrkAsync(address, saturate, Connections, 3);

            Log($"wrk GET /clock/{{id}}, {Connections} connections, the daemon and the bare snapshot app in turn, twice");
            var (bare, bareAddress) = await SnapshotApp.StartAsync(connectionString);
            LoadResult http, bareHttp;
            await using (bare)
            {
                await Tools.WrkAsync(bareAddress, saturate, Connections, 3);
                var daemonRuns = new List<LoadResult>();
                var bareRuns = new List<LoadResult>();
                for (var round = 0; round < 2; round++)
                {
                    daemonRuns.Add(await Tools.WrkAsync(address, saturate, Connections, seconds));
                    bareRuns.Add(await Tools.WrkAsync(bareAddress, saturate, Connections, seconds));
                }
                http = daemonRuns.MaxBy(r => r.RequestsPerSecond)!;
                bareHttp = bareRuns.MaxBy(r => r.RequestsPerSecond)!;
                await bare.StopAsync();
            }
            var lookup = $"\\set n random(1, {Sessions})\nSELECT session_clock_get(md5(:n::text)::uuid);\n";
            var sql = new List<(int Clients, LoadResult Result)>();
            foreach (var clients in new[] { 8, 32 })
            {
                Log($"pgbench session_clock_get, {clients} clients");
                sql.Add((clients, await Tools.PgBenchAsync(cluster.Port, Database, lookup, clients, seconds)));
            }
            var ceiling = sql.MaxBy(s => s.Result.RequestsPerSecond);

            var probe = await Tools.WrkAsync(address, paced, 50, 2);
            var fixedConnections = (int)Math.Round(50 * FixedRate / probe.RequestsPerSecond);
            Log($"wrk at ~{FixedRate}/s ({fixedConnections} connections, {delayMs} ms apart)");
            var httpFixed = await Tools.WrkAsync(address, paced, fixedConnections, seconds);
            Log($"pgbench at {FixedRate}/s");
            var sqlFixed = await Tools.PgBenchAsync(cluster.Port, Database, lookup, 8, seconds, FixedRate);

            Log($"{Subscribers} stream subscribers on one session, 10 pauses and resumes");
            var fanOut = await StreamDelay.MeasureAsync(address, connectionString, ids[0], tokens[0], Subscribers, changes: 10);

            Console.WriteLine(Table(http, bareHttp, ceiling, httpFixed, sqlFixed, fanOut, fixedConnections));
            if (http.Errors + httpFixed.Errors > 0) Console.WriteLine($"\nwrk saw {http.Errors + httpFixed.Errors} errors or non-2xx answers");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            await app.StopAsync();
        }
    }

    private static string Table(LoadResult http, LoadResult bare, (int Clients, LoadResult Result) sql, LoadResult httpFixed, LoadResult sqlFixed,
        (double P50, double P99, int Samples, double CpuMicrosecondsPerDelivery) fanOut, int fixedConnections)
    {
        static string N(double v) => v.ToString("#,0", CultureInfo.InvariantCulture);
        static string Ms(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
        var ratio = http.RequestsPerSecond / sql.Result.RequestsPerSecond;
        var toBare = http.RequestsPerSecond / bare.RequestsPerSecond;
        return $"""

            | measure | RoomReconciler GET /clock/{"{id}"} | pgbench `session_clock_get` | ratio / target |
            | --- | ---: | ---: | --- |
            | throughput, req/s (wrk {Connections} conns; pgbench best of 8/32 clients: {sql.Clients}) | {N(http.RequestsPerSecond)} | {N(sql.Result.RequestsPerSecond)} | **{ratio:0.00}×** (target ≥ 1.5×) {(ratio >= 1.5 ? "✓" : "✗")} |
            | throughput against the bare snapshot app (same process, same wrk script, best of 2 turns each): {N(bare.RequestsPerSecond)} req/s | {N(http.RequestsPerSecond)} | — | **{toBare:0.00}×** the bare app (target ≥ 0.9×) {(toBare >= 0.9 ? "✓" : "✗")} |
            | latency at saturation, p50 / p99 ms | {Ms(http.P50Ms)} / {Ms(http.P99Ms)} | {Ms(sql.Result.P50Ms)} / {Ms(sql.Result.P99Ms)} | |
            | at a fixed rate: achieved req/s | {N(httpFixed.RequestsPerSecond)} ({fixedConnections} conns) | {N(sqlFixed.RequestsPerSecond)} (-R {FixedRate}) | |
            | at a fixed rate: p50 / p99 ms | {Ms(httpFixed.P50Ms)} / **{Ms(httpFixed.P99Ms)}** | {Ms(sqlFixed.P50Ms)} / {Ms(sqlFixed.P99Ms)} | p99 target ≤ 5 ms {(httpFixed.P99Ms <= 5 ? "✓" : "✗")} |
            | pause commit → {Subscribers} stream subscribers, p50 / p99 ms ({fanOut.Samples} deliveries) | {Ms(fanOut.P50)} / **{Ms(fanOut.P99)}** | — | p99 target ≤ 100 ms {(fanOut.P99 <= 100 ? "✓" : "✗")} |
            | CPU per stream delivery (server and subscribers, both in this process), µs | {fanOut.CpuMicrosecondsPerDelivery:0} | — | |

            load average when done: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores (other processes share them)
            """;
    }

    private static string WriteScript(string folder, string name, Guid[] ids, string[] tokens, int? delayMs)
    {
        var lua = new StringBuilder("local ids = {\n");
        foreach (var id in ids) lua.Append($"\"{id}\",\n");
        lua.Append("}\nlocal auth = {\n");
        foreach (var token in tokens) lua.Append($"\"Bearer {token}\",\n");
        lua.Append("""
            }
            local threads = 0
            function setup(thread) threads = threads + 1; thread:set("seed", threads) end
            function init(args) math.randomseed(os.time() * 1000 + (seed or 0)) end
            function request()
              local i = math.random(#ids)
              return wrk.format("GET", "/clock/" .. ids[i], { ["Authorization"] = auth[i] })
            end

            """);
        if (delayMs is { } delay) lua.Append($"function delay() return {delay} end\n");
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, lua.ToString());
        return path;
    }

    private static async Task WaitUntilTrustedAsync(WebApplication app)
    {
        var cache = app.Services.GetRequiredService<ClockCache>();
        var clock = app.Services.GetRequiredService<DatabaseClock>();
        var deadline = Stopwatch.StartNew();
        while (!cache.IsTrusted || !clock.TryGetNow(out _))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the clock listener did not connect");
            await Task.Delay(20);
        }
    }


    private static void Log(string message) => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");
}
