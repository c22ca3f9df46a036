using System.Diagnostics;
using LiveKitSimulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;
using RoomReconciler.Hosting;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// Outbound events, two figures. (1) The added cost to a transition's commit: pgbench alternating pause and resume of
/// random running sessions (each call its own transaction), with no endpoint configured (the trigger finds none and
/// writes nothing: events off) and with one (it writes the outbox and delivery rows), in alternating rounds on one
/// database, the median of each. (2) Delivery throughput: an outbox filled while no daemon runs, then the real host
/// started against a local receiver (Kestrel in this process, answering 204), timed until every delivery is acknowledged.
/// </summary>
public static class EventsBenchmark
{
    private const int Sessions = 10_000;
    private const int Clients = 4;
    private const int Rounds = 3;
    private const string Database = "bench";
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    public static async Task RunAsync(int seconds, int events)
    {
        Console.Error.WriteLine($"starting a throwaway PostgreSQL; {Sessions} running sessions; {Rounds} rounds of {seconds} s each way, {Clients} clients");
        await using var cluster = await PostgresCluster.StartAsync();
        var connectionString = await Tools.MigratedDatabaseAsync(cluster, Database);
        await Tools.InsertNumberedSessionsAsync(connectionString, Sessions);
        await PostgresCluster.ExecuteAsync(connectionString, "ANALYZE sessions");

        var script = $"""
            \set n random(1, {Sessions})
            SELECT session_clock_pause(md5(:n::text)::uuid, 'bench');
            SELECT session_clock_resume(md5(:n::text)::uuid, 'bench');

            """;
        var tps = new Dictionary<bool, List<double>> { [false] = [], [true] = [] };
        foreach (var withEvents in new[] { false, true }) // warm-up
        {
            await EndpointAsync(connectionString, withEvents);
            await Tools.PgBenchAsync(cluster.Port, Database, script, Clients, 2);
        }
        for (var round = 1; round <= Rounds; round++)
            foreach (var withEvents in new[] { false, true })
            {
                await EndpointAsync(connectionString, withEvents);
                // Two calls a transaction-script: transitions per second are twice pgbench's transactions.
                var result = await Tools.PgBenchAsync(cluster.Port, Database, script, Clients, seconds);
                Console.Error.WriteLine($"round {round}: {(withEvents ? "with events" : "without events")} {result.RequestsPerSecond * 2:F0} transitions/s");
                tps[withEvents].Add(result.RequestsPerSecond * 2);
            }
        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        var (without, with) = (Median(tps[false]), Median(tps[true]));

        var delivered = await DeliveryAsync(connectionString, events);

        Console.WriteLine($"""

            | measure (pgbench -M prepared, {Clients} clients, median of {Rounds} × {seconds} s; delivery: {events} events) | result |
            | --- | --- |
            | transitions/s, no endpoint configured (events off) | {without:F0} |
            | transitions/s, one endpoint (outbox and delivery rows written in the commit) | {with:F0} |
            | commit cost with events / without (1 / throughput ratio) | {without / with:F2} |
            | events delivered/s to a local receiver (one daemon, 204 answers) | {delivered:F0} |
            """);
    }

    /// <summary>One configured endpoint, or none (the trigger then writes nothing); deliveries of earlier rounds acknowledged.</summary>
    private static Task EndpointAsync(string connectionString, bool configured) => PostgresCluster.ExecuteAsync(connectionString, $"""
        INSERT INTO roomreconciler.event_endpoints (id, url, configured) VALUES (0, 'http://127.0.0.1:9/events', {configured})
        ON CONFLICT (id) DO UPDATE SET configured = excluded.configured;
        UPDATE roomreconciler.event_deliveries SET acknowledged_at = now() WHERE acknowledged_at IS NULL;
        """);

    /// <returns>events acknowledged per second</returns>
    private static async Task<double> DeliveryAsync(string connectionString, int events)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders(); // a line per request would measure the console
        var receiver = builder.Build();
        var received = 0;
        receiver.MapPost("/events", () => { Interlocked.Increment(ref received); return Results.NoContent(); });
        await receiver.StartAsync();
        var url = receiver.Urls.First() + "/events";

        await PostgresCluster.ExecuteAsync(connectionString, $"""
            UPDATE roomreconciler.event_endpoints SET url = '{url}', configured = true WHERE id = 0;
            UPDATE roomreconciler.event_deliveries SET acknowledged_at = now() WHERE acknowledged_at IS NULL;
            """);
        // Ten events per session (five pauses and resumes), as the transitions of a real day would queue while no daemon runs.
        var sessions = events / 10;
        await PostgresCluster.ExecuteAsync(connectionString, $"""
            DO $$
            BEGIN
                FOR i IN 1..5 LOOP
                    PERFORM session_clock_pause(md5(n::text)::uuid, 'bench') FROM generate_series(1, {sessions}) n;
                    PERFORM session_clock_resume(md5(n::text)::uuid, 'bench') FROM generate_series(1, {sessions}) n;
                END LOOP;
            END;
            $$;
            """);
        await using var data = NpgsqlDataSource.Create(connectionString);
        await using var pending = data.CreateCommand("SELECT count(*) FROM roomreconciler.event_deliveries WHERE acknowledged_at IS NULL");
        var total = (long)(await pending.ExecuteScalarAsync())!;
        Console.Error.WriteLine($"delivering {total} queued events ({sessions} sessions × 10)");

        await using var liveKit = await SimulatorServer.StartAsync();
        var daemon = DaemonHost.Build([
            "--Urls=http://127.0.0.1:0", "--ConnectionStrings:Postgres=" + connectionString, "--LiveKit:Url=" + liveKit.Url,
            "--LiveKit:ApiKey=" + liveKit.ApiKey, "--LiveKit:ApiSecret=" + liveKit.ApiSecret, "--Reconciler:PollInterval=00:10:00",
            "--Events:Endpoints:0:Url=" + url, "--Events:Endpoints:0:Secret=" + Secret, "--Serilog:MinimumLevel:Default=Warning",
        ]);
        var clock = Stopwatch.StartNew();
        await daemon.StartAsync();
        while ((long)(await pending.ExecuteScalarAsync())! > 0) await Task.Delay(20);
        var elapsed = clock.Elapsed;
        // More POSTs than events means attempts that failed (a timeout on a loaded machine) and were retried: say which.
        await using (var retried = data.CreateCommand("""
            SELECT attempts, coalesce(last_error, 'none'), count(*) FROM roomreconciler.event_deliveries WHERE attempts > 1 GROUP BY 1, 2 ORDER BY 1
            """))
        await using (var reader = await retried.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                Console.Error.WriteLine($"{reader.GetInt64(2)} deliveries took {reader.GetInt32(0)} attempts (last error: {reader.GetString(1)})");
        await daemon.StopAsync();
        await daemon.DisposeAsync();
        await receiver.StopAsync();
        await receiver.DisposeAsync();
        Console.Error.WriteLine($"{total} acknowledged in {elapsed.TotalSeconds:F2} s (receiver saw {received} POSTs), start of the host included");
        return total / elapsed.TotalSeconds;
    }
}
