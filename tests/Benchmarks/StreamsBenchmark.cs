using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// Many streams at once against the daemon and against the bare ceiling (<see cref="CeilingApp"/>), each a process of
/// its own with the daemon's runtime settings, with the clients (<see cref="StreamClients"/>) in a third: a connect
/// storm of two streams per running session, steady changes, one statement pausing half the sessions, RSS and
/// allocations. Every row is printed as daemon / ceiling, both measured in this run.
/// </summary>
public static partial class StreamsBenchmark
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
            var daemonDll = await PublishedDaemonAsync();
            var runtime = RuntimeSettingsOf(daemonDll);
            var daemon = await MeasureAsync("daemon", file, connectionString, ids, runtime, readiness: "/readyz", port => [daemonDll, "run", $"--Urls=http://127.0.0.1:{port}",
                "--ConnectionStrings:Postgres=" + connectionString, "--LiveKit:Url=http://127.0.0.1:1", "--LiveKit:ApiKey=devkey",
                "--LiveKit:ApiSecret=secret", "--Reconciler:PollInterval=01:00:00", "--Serilog:MinimumLevel:Default=Warning"]);
            var ceiling = await MeasureAsync("ceiling", file, connectionString, ids, runtime, readiness: null, port => [typeof(StreamsBenchmark).Assembly.Location, "ceiling",
                $"http://127.0.0.1:{port}", connectionString]);
            static string Ratio(double a, double b) => b > 0 ? $"{a / b:0.00}×" : "—";
            static string Kb(double bytes) => $"{bytes / 1024:0.0} KB";
            var streams = 2 * sessions;
            Console.WriteLine($"""

                | measure ({sessions} sessions, {streams} streams; shared 2-core machine) | daemon | bare ceiling | daemon / ceiling (target) |
                | --- | ---: | ---: | ---: |
                | start to ready (daemon: published as the image, /readyz 200; ceiling: LISTEN issued) | {daemon.ReadyMs:0} ms | {ceiling.ReadyMs:0} ms | (≤ 1 s) |
                | storm: all streams opened at once: opened / refused / failed, time | {daemon.Storm} | {ceiling.Storm} | {Ratio(daemon.StormMs, ceiling.StormMs)} the time (none refused) |
                | idle RSS | {daemon.IdleMb:0} MB | {ceiling.IdleMb:0} MB | {Ratio(daemon.IdleMb, ceiling.IdleMb)} (≤ 100 MB) |
                | RSS added by the streams, a stream | +{daemon.AddedMb:0} MB, {Kb(daemon.AddedMb * 1024 * 1024 / streams)} | +{ceiling.AddedMb:0} MB, {Kb(ceiling.AddedMb * 1024 * 1024 / streams)} | **{Ratio(daemon.AddedMb, ceiling.AddedMb)}** (≤ 1.1×) |
                | allocated during the storm, a stream | {Kb(daemon.StormBytes / streams)} | {Kb(ceiling.StormBytes / streams)} | {Ratio(daemon.StormBytes, ceiling.StormBytes)} |
                | steady, {TransitionsPerSecond} transitions/s to both streams: p50 / p99 from last_state_change_at | {daemon.Steady} | {ceiling.Steady} | **{Ratio(daemon.Steady.P99, ceiling.Steady.P99)}** at p99 (≤ 2×) |
                | allocated in the steady phase, a delivery (the idle process' own included) | {Kb(daemon.SteadyBytes / Math.Max(1, daemon.Steady.Count))} | {Kb(ceiling.SteadyBytes / Math.Max(1, ceiling.Steady.Count))} | {Ratio(daemon.SteadyBytes / Math.Max(1, daemon.Steady.Count), ceiling.SteadyBytes / Math.Max(1, ceiling.Steady.Count))} |
                | {ids.Length - ids.Length / 2} sessions paused (daemon) / resumed (ceiling) in one statement: p50 / p99 from its commit to every stream | {daemon.Mass} | {ceiling.Mass} | **{Ratio(daemon.Mass.P99, ceiling.Mass.P99)}** at p99 (≤ 1.2×) |

                load average when done: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} (other processes share the cores); both servers with the daemon's runtime settings: {string.Join(" ", runtime.Select(r => $"{r.Key}={r.Value}"))}
                """);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// The daemon as the image ships it (Dockerfile: ReadyToRun for linux-x64, its runtimeconfig's GC), published into a
    /// temporary folder: the build beside this benchmark is not precompiled, and JIT-compiling what ReadyToRun brings
    /// costs start time and tens of megabytes that no installed daemon spends.
    /// </summary>
    private static async Task<string> PublishedDaemonAsync()
    {
        var project = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/RoomReconciler/RoomReconciler.csproj"));
        var output = Path.Combine(Path.GetTempPath(), "roomreconciler-streams-daemon");
        Log($"publishing {project} (ReadyToRun, linux-x64) to {output}");
        await Tools.RunAsync("dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "false", "-o", output, "-v", "quiet", "-nologo"]);
        return Path.Combine(output, "RoomReconciler.dll");
    }

    /// <summary>Steady changes: pauses (then resumes) of the sessions in turn, at about this many a second.</summary>
    private const int TransitionsPerSecond = 85;

    /// <summary>The transitions made so far, over both runs: the ceiling's run carries on from the daemon's, so each one changes a clock.</summary>
    private static int _transitions;

    /// <summary>The p50 / p99 of one phase's deliveries, as the clients print them.</summary>
    private sealed record Delays(double P50, double P99, int Count, string Text)
    {
        public override string ToString() => Text;
    }

    private sealed record Measured(double ReadyMs, string Storm, double StormMs, double IdleMb, double AddedMb, double StormBytes, Delays Steady,
        double SteadyBytes, Delays Mass);

    private static async Task<Measured> MeasureAsync(string name, string file, string connectionString, Guid[] ids,
        IReadOnlyDictionary<string, string> runtime, string? readiness, Func<int, string[]> command)
    {
        var port = FreePort();
        var address = new Uri($"http://127.0.0.1:{port}/");
        var started = Stopwatch.StartNew();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = Start(command(port), runtime, line => { if (line == "ready") ready.TrySetResult(); });
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            if (readiness is not null) await WaitForAsync(() => OkAsync(http, readiness));
            else await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var readyMs = started.Elapsed.TotalMilliseconds;
            await Task.Delay(2_000); // settled: the daemon's listener connected, its first probes answered
            var idle = RssMb(server);
            Log($"{name}: ready in {readyMs:0} ms, idle {idle:0} MB; opening the streams");
            var beforeStorm = await AllocatedAsync(http);
            using var clients = Start([typeof(StreamsBenchmark).Assembly.Location, "stream-clients", address.ToString(), file], input: true);
            var storm = await clients.StandardOutput.ReadLineAsync() ?? "the clients ended";
            var stormMs = StormTime().Match(storm) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
            await Task.Delay(2_000);
            var added = RssMb(server) - idle;
            var afterStorm = await AllocatedAsync(http);
            Log($"{name}: {storm}; +{added:0} MB; 10 s of {TransitionsPerSecond} transitions/s");
            Delays steady, mass;
            double steadyBytes;
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
                await Task.Delay(1_000);
                steadyBytes = await AllocatedAsync(http) - afterStorm;
                steady = await ReportAsync(clients, "steady");
                Log($"{name}: steady {steady}; one statement changing {ids.Length - ids.Length / 2} clocks");

                // The second half of the sessions, which the steady phase (from the first) has not reached at the
                // default size: the daemon's run pauses them, the ceiling's resumes them, so each call is a change.
                await using var all = database.CreateCommand(
                    $"SELECT count(session_clock_{(name == "daemon" ? "pause" : "resume")}(id, 'benchmark')) FROM unnest($1::uuid[]) AS q(id)");
                all.Parameters.AddWithValue(ids[(ids.Length / 2)..]);
                await all.ExecuteNonQueryAsync();
                var committed = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                await Task.Delay(5_000);
                mass = await ReportAsync(clients, $"since {committed}");
            }
            clients.StandardInput.Close();
            await clients.WaitForExitAsync();
            Log($"{name}: mass {mass}");
            return new Measured(readyMs, storm, stormMs, idle, added, afterStorm - beforeStorm, steady, steadyBytes, mass);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    /// <summary>Asks the clients for the delays of the deliveries since the last report (StreamClients).</summary>
    private static async Task<Delays> ReportAsync(Process clients, string request)
    {
        await clients.StandardInput.WriteLineAsync(request);
        await clients.StandardInput.FlushAsync();
        var line = await clients.StandardOutput.ReadLineAsync() ?? "the clients ended";
        return DelayLine().Match(line) is { Success: true } m
            ? new Delays(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), line)
            : new Delays(double.NaN, double.NaN, 0, line);
    }

    /// <summary>GC.GetTotalAllocatedBytes of the server, from the family both serve on /metrics.</summary>
    private static async Task<double> AllocatedAsync(HttpClient http)
    {
        var text = await http.GetStringAsync("/metrics");
        return double.Parse(Allocated().Match(text).Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The daemon's runtime settings (its runtimeconfig.json: the GC, invariant globalization) as the environment
    /// variables that set them, so that the ceiling runs with the same ones: a difference in GC mode would otherwise be
    /// most of the difference in memory. What the caller's environment already sets is passed on to both as it is.
    /// </summary>
    private static Dictionary<string, string> RuntimeSettingsOf(string dll)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(dll, ".runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").TryGetProperty("configProperties", out var p) ? p : default;
        var settings = new Dictionary<string, string>();
        foreach (var (property, variable, fallback) in new[]
                 {
                     ("System.GC.Server", "DOTNET_gcServer", "0"), ("System.GC.Concurrent", "DOTNET_gcConcurrent", "1"),
                     ("System.GC.ConserveMemory", "DOTNET_GCConserveMemory", "0"),
                     ("System.Globalization.Invariant", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "0"),
                 })
        {
            var value = Environment.GetEnvironmentVariable(variable)
                ?? (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(property, out var v)
                    ? v.ValueKind switch { JsonValueKind.True => "1", JsonValueKind.False => "0", _ => v.GetRawText() }
                    : fallback);
            settings[variable] = value;
        }
        return settings;
    }

    /// <param name="output">each line of a server's standard output, which is always read: a full pipe would block its logging</param>
    private static Process Start(string[] args, IReadOnlyDictionary<string, string>? environment = null, Action<string>? output = null, bool input = false)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardInput = input };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start dotnet {args[0]}");
        if (output is not null)
        {
            process.OutputDataReceived += (_, e) => { if (e.Data is { } line) output(line); };
            process.BeginOutputReadLine();
        }
        return process;
    }

    private static double RssMb(Process process) =>
        long.Parse(File.ReadAllLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;

    private static int FreePort()
    {
        using var socket = new TcpListener(System.Net.IPAddress.Loopback, 0);
        socket.Start();
        return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static async Task<bool> OkAsync(HttpClient http, string path)
    {
        try
        {
            using var answer = await http.GetAsync(path);
            return answer.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> done)
    {
        var deadline = Stopwatch.StartNew();
        while (!await done())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("the server did not get ready within 30 s");
            await Task.Delay(10);
        }
    }

    [GeneratedRegex(@"in (\d+) ms")] private static partial Regex StormTime();
    [GeneratedRegex(@"p50 (-?\d+) ms, p99 (-?\d+) ms of (\d+) deliveries")] private static partial Regex DelayLine();
    [GeneratedRegex(@"^dotnet_gc_allocated_bytes_total ([\d.e+]+)", RegexOptions.Multiline)] private static partial Regex Allocated();

    private static void Log(string message) => Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {message}");
}
