using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using RoomReconciler.Database;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Benchmarks;

/// <summary>Latency percentiles and throughput of one load run.</summary>
public sealed record LoadResult(double RequestsPerSecond, double P50Ms, double P99Ms, long Errors);

/// <summary>The setup the benchmarks share (a migrated database, numbered sessions), and wrk (HTTP) and pgbench (SQL) as child processes, their output parsed.</summary>
public static partial class Tools
{
    /// <summary>A new database in the throwaway cluster, migrated; its connection string.</summary>
    public static async Task<string> MigratedDatabaseAsync(PostgresCluster cluster, string database)
    {
        await PostgresCluster.ExecuteAsync(cluster.ConnectionString(), $"CREATE DATABASE {database}");
        var connectionString = cluster.ConnectionString(database);
        new Migrator(connectionString, Path.Combine(AppContext.BaseDirectory, "db", "migrations")).Migrate();
        return connectionString;
    }

    /// <summary>
    /// Sessions 1 to <paramref name="count"/>, running for 10 minutes, with ids that the SQL side can compute from the
    /// number too (pgbench has no uuids): md5(n)::uuid. Their ids in order.
    /// </summary>
    public static async Task<Guid[]> InsertNumberedSessionsAsync(string connectionString, int count)
    {
        await PostgresCluster.ExecuteAsync(connectionString, $"""
            INSERT INTO sessions (id, started_at, last_state_change_at)
            SELECT md5(n::text)::uuid, now() - interval '10 minutes', now() - interval '10 minutes' FROM generate_series(1, {count}) n
            """);
        return Enumerable.Range(1, count).Select(n => new Guid(Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(n.ToString()))))).ToArray();
    }

    public static async Task<string> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? "" };
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}"); }
        catch (System.ComponentModel.Win32Exception e) { throw new MissingToolException(file, e); }
        using var _ = process;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} exited {process.ExitCode}: {await stderr}{await stdout}");
        return await stdout;
    }

    /// <summary>wrk with --latency: Requests/sec, and the 50% and 99% lines of its latency distribution.</summary>
    public static async Task<LoadResult> WrkAsync(Uri address, string script, int connections, int seconds)
    {
        var output = await RunAsync("wrk", ["-t2", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", script, address.ToString()]);
        var errors = NonSuccess().Match(output) is { Success: true } m ? long.Parse(m.Groups[1].Value) : 0;
        errors += SocketErrors().Matches(output).Sum(x => long.Parse(x.Groups[1].Value));
        return new LoadResult(double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
            Percentile(output, "50"), Percentile(output, "99"), errors);
    }

    private static double Percentile(string wrkOutput, string percent)
    {
        var m = Regex.Match(wrkOutput, $@"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "ms" => value, _ => value * 1000 };
    }

    /// <summary>pgbench with a per-transaction log, whose latency column gives the percentiles.</summary>
    public static async Task<LoadResult> PgBenchAsync(int port, string database, string script, int clients, int seconds, int? rate = null)
    {
        var folder = Directory.CreateTempSubdirectory("pgbench-").FullName;
        try
        {
            var scriptFile = Path.Combine(folder, "lookup.sql");
            await File.WriteAllTextAsync(scriptFile, script);
            string[] args = ["-h", "127.0.0.1", "-p", port.ToString(), "-U", "postgres", "-n", "-M", "prepared", "-c", clients.ToString(),
                "-j", "2", "-T", seconds.ToString(), "-f", scriptFile, "-l", "--log-prefix", Path.Combine(folder, "log"), database];
            if (rate is { } r) args = [.. args, "-R", r.ToString()];
            var output = await RunAsync(PgBin("pgbench"), args, folder);
            var latencies = Directory.GetFiles(folder, "log*")
                .SelectMany(File.ReadLines)
                .Select(line => line.Split(' '))
                .Select(fields => double.Parse(fields[2], CultureInfo.InvariantCulture) / 1000)
                .Order().ToArray();
            var failed = FailedTransactions().Match(output) is { Success: true } f ? long.Parse(f.Groups[1].Value) : 0;
            return new LoadResult(double.Parse(Tps().Match(output).Groups[1].Value, CultureInfo.InvariantCulture),
                latencies[(int)(latencies.Length * 0.50)], latencies[(int)(latencies.Length * 0.99)], failed);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A PostgreSQL client tool of the newest installed server (the one the cluster runs).</summary>
    private static string PgBin(string tool) =>
        Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
            .Select(d => Path.Combine(d, "bin", tool)).First(File.Exists);

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")] private static partial Regex RequestsPerSecond();
    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")] private static partial Regex NonSuccess();
    [GeneratedRegex(@"(?:connect|read|write|timeout) (\d+)")] private static partial Regex SocketErrors();
    [GeneratedRegex(@"tps = ([\d.]+)")] private static partial Regex Tps();
    [GeneratedRegex(@"number of failed transactions: (\d+)")] private static partial Regex FailedTransactions();
}

/// <summary>A program a benchmark runs (wrk, pgbench) is not installed: one line saying which, not a stack trace.</summary>
public sealed class MissingToolException(string file, Exception inner)
    : Exception($"{file} is not installed or not on PATH ({inner.Message}); on Debian: apt-get install -y {(file == "wrk" ? "wrk" : "postgresql")}", inner);
