using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;
using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// Many streams at once against the daemon and against the bare ceiling (<see cref="CeilingApp"/>), each a process of
/// its own, with the clients (<see cref="StreamClients"/>) in a third: refusals in a connect storm of two streams per
/// running session, and the RSS the streams add. Printed as daemon / ceiling ratios.
/// </summary>
public static class StreamsBenchmark
{
    private const string Database = "streams_bench";

    public static async Task RunAsync(int sessions)
    {
        Log($"starting a throwaway PostgreSQL; {sessions} running sessions, {2 * sessions} streams, on {Environment.ProcessorCount} shared cores");
        await using var cluster = await PostgresCluster.StartAsync();
        var connectionString = await Tools.MigratedDatabaseAsync(cluster, Database);
        var ids = await Tools.InsertNumberedSessionsAsync(connectionString, sessions);
        var file = Path.GetTempFileName();
        await File.WriteAllLinesAsync(file, ids.Select(id => $"{id} " + AccessToken.Create("devkey", "secret", DateTimeOffset.UtcNow, TimeSpan.FromHours(2),
            new VideoGrants { RoomJoin = true, Room = id.ToString("D") }, identity: "bench")));
        try
        {
            var daemonDll = Path.Combine(AppContext.BaseDirectory, "RoomReconciler.dll");
            var daemon = await MeasureAsync("daemon", file, connectionString, ids, port => [daemonDll, "run", $"--Urls=http://127.0.0.1:{port}",
                "--ConnectionStrings:Postgres=" + connectionString, "--LiveKit:Url=http://127.0.0.1:1", "--LiveKit:ApiKey=devkey",
                "--LiveKit:ApiSecret=secret", "--Reconciler:PollInterval=01:00:00", "--Serilog:MinimumLevel:Default=Warning"]);
            var ceiling = await MeasureAsync("ceiling", file, connectionString, ids, port => [typeof(StreamsBenchmark).Assembly.Location, "ceiling",
                $"http://127.0.0.1:{port}", connectionString]);
            Console.WriteLine($"""

                | measure ({sessions} sessions, {2 * sessions} streams; shared 2-core machine) | daemon | bare ceiling | daemon / ceiling |
                | --- | ---: | ---: | ---: |
                | storm: all streams opened at once: opened / refused / failed, time | {daemon.Storm} | {ceiling.Storm} | |
                | idle RSS | {daemon.IdleMb:0} MB | {ceiling.IdleMb:0} MB | {daemon.IdleMb / ceiling.IdleMb:0.0}× |
                | steady, {TransitionsPerSecond} transitions/s to both streams: delay from last_state_change_at | {daemon.Steady} | {ceiling.Steady} | |
                | RSS added by the streams | +{daemon.AddedMb:0} MB ({daemon.AddedMb * 1024 / (2 * sessions):0.0} KB a stream) | +{ceiling.AddedMb:0} MB ({ceiling.AddedMb * 1024 / (2 * sessions):0.0} KB a stream) | {daemon.AddedMb / ceiling.AddedMb:0.0}× |

                load average when done: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (other processes share the cores)
                """);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Steady changes: pauses (then resumes) of the sessions in turn, at about this many a second.</summary>
    private const int TransitionsPerSecond = 85;

    /// <summary>The transitions made so far, over both runs: the ceiling's run carries on from the daemon's, so each one changes a clock.</summary>
    private static int _transitions;

    private static async Task<(string Storm, double IdleMb, double AddedMb, string Steady)> MeasureAsync(string name, string file, string connectionString,
        Guid[] ids, Func<int, string[]> command)
    {
        var port = FreePort();
        using var server = Start(command(port));
        try
        {
            await WaitForPortAsync(port);
            await Task.Delay(2_000); // settled: the daemon's listener connected, its first probes answered
            var idle = RssMb(server);
            Log($"{name}: idle {idle:0} MB; opening the streams");
            using var clients = Start([typeof(StreamsBenchmark).Assembly.Location, "stream-clients", $"http://127.0.0.1:{port}/", file], input: true);
            var storm = await clients.StandardOutput.ReadLineAsync() ?? "the clients ended";
            await Task.Delay(2_000);
            var added = RssMb(server) - idle;
            Log($"{name}: {storm}; +{added:0} MB; 10 s of {TransitionsPerSecond} transitions/s");
            await using (var database = NpgsqlDataSource.Create(connectionString))
            {
                var pace = Stopwatch.StartNew();
                for (var n = 0; n < 10 * TransitionsPerSecond; n++)
                {
                    var i = _transitions++;
                    var wait = TimeSpan.FromSeconds((double)n / TransitionsPerSecond) - pace.Elapsed;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait);
                    var pause = i / ids.Length % 2 == 0;
                    await using var change = database.CreateCommand($"SELECT session_clock_{(pause ? "pause" : "resume")}($1, 'benchmark')");
                    change.Parameters.AddWithValue(ids[i % ids.Length]);
                    await change.ExecuteNonQueryAsync();
                }
            }
            await Task.Delay(1_000);
            clients.StandardInput.Close();
            var steady = await clients.StandardOutput.ReadLineAsync() ?? "the clients ended";
            await clients.WaitForExitAsync();
            Log($"{name}: {steady}");
            return (storm, idle, added, steady);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static Process Start(string[] args, bool input = false)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardInput = input };
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start) ?? throw new InvalidOperationException($"cannot start dotnet {args[0]}");
    }

    private static double RssMb(Process process) =>
        long.Parse(File.ReadAllLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;

    private static int FreePort()
    {
        using var socket = new TcpListener(System.Net.IPAddress.Loopback, 0);
        socket.Start();
        return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
        }
    }

    private static void Log(string message) => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");
}
