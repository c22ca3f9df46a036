using RoomReconciler.Tests.Support;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// session_clock_get against a plain version of the same RPC, side by side on one throwaway database and the same
/// ids: pgbench on each in turn, several rounds, the median of each. The plain version is a LANGUAGE sql STABLE
/// function returning json_build_object of the raw columns (no ISO times, no elapsed, no tracking); it lives in a
/// scratch schema so both can exist at once.
/// </summary>
public static class ClockGetBenchmark
{
    private const int Sessions = 10_000;
    private const int Clients = 4;
    private const int Rounds = 3;
    private const string Database = "bench";

    public static async Task RunAsync(int seconds)
    {
        Console.Error.WriteLine($"starting a throwaway PostgreSQL; {Sessions} sessions; {Rounds} rounds of {seconds} s per function, {Clients} clients");
        await using var cluster = await PostgresCluster.StartAsync();
        var connectionString = await Tools.MigratedDatabaseAsync(cluster, Database);
        await Tools.InsertNumberedSessionsAsync(connectionString, Sessions);
        await PostgresCluster.ExecuteAsync(connectionString, """
            CREATE SCHEMA plain;
            CREATE FUNCTION plain.session_clock_get(p_session_id uuid) RETURNS json LANGUAGE sql STABLE AS $$
                select json_build_object('started_at', started_at, 'is_paused', is_paused, 'total_paused_ms', total_paused_ms,
                                         'last_state_change_at', last_state_change_at, 'server_now', now())
                from public.sessions where id = p_session_id
            $$;
            ANALYZE sessions;
            """);

        var functions = new[] { ("plain", "plain.session_clock_get"), ("ours", "public.session_clock_get") };
        var tps = functions.ToDictionary(f => f.Item1, _ => new List<double>());
        foreach (var (name, function) in functions) // warm-up: plans and buffers
            await Tools.PgBenchAsync(cluster.Port, Database, Lookup(function), Clients, 2);
        for (var round = 1; round <= Rounds; round++)
            foreach (var (name, function) in functions)
            {
                var result = await Tools.PgBenchAsync(cluster.Port, Database, Lookup(function), Clients, seconds);
                Console.Error.WriteLine($"round {round}: {name} {result.RequestsPerSecond:F0} calls/s");
                tps[name].Add(result.RequestsPerSecond);
            }

        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        var (plain, ours) = (Median(tps["plain"]), Median(tps["ours"]));
        Console.WriteLine($"""

            | function (pgbench -M prepared, {Clients} clients, median of {Rounds} × {seconds} s) | calls/s |
            | --- | --- |
            | plain `session_clock_get` (LANGUAGE sql, json_build_object of the columns) | {plain:F0} |
            | RoomReconciler's `session_clock_get` | {ours:F0} |
            | ratio, ours / plain (target ≥ 1.0) | {ours / plain:F2} |
            """);
    }

    private static string Lookup(string function) => $"\\set n random(1, {Sessions})\nSELECT {function}(md5(:n::text)::uuid);\n";
}
