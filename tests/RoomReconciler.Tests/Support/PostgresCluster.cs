using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace RoomReconciler.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL cluster: initdb + pg_ctl from Debian's postgresql package under a temp folder,
/// on a free loopback port, run as the postgres user when the tests run as root (initdb refuses root).
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string _binDir;
    private readonly string _root;
    private readonly string _dataDir;
    private readonly bool _asPostgresUser;

    public int Port { get; }
    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database,
            Pooling = true, MaxPoolSize = 250, Timeout = 10,
        }.ConnectionString;

    private PostgresCluster(string binDir, string root, int port)
    {
        _binDir = binDir;
        _root = root;
        _dataDir = Path.Combine(root, "data");
        Port = port;
        _asPostgresUser = Environment.UserName == "root";
    }

    public static async Task<PostgresCluster> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("roomreconciler-pg-").FullName;
        var cluster = new PostgresCluster(FindBinDir(), root, FreePort());
        if (cluster._asPostgresUser) await Run("chown", ["-R", "postgres", root]);
        await cluster.RunPg("initdb", ["-D", cluster._dataDir, "--auth=trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
        await cluster.StartServerProcessAsync();
        return cluster;
    }

    public async Task StartServerAsync()
    {
        await StartServerProcessAsync();
        // Pooled connections from before a restart are dead; the next user would get "Exception while reading from stream".
        NpgsqlConnection.ClearAllPools();
    }

    private Task StartServerProcessAsync() => RunPg("pg_ctl", ["-D", _dataDir, "-l", Path.Combine(_root, "server.log"), "-w", "-t", "60", "-o",
        $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1,127.0.0.2 -c fsync=off -c full_page_writes=off -c max_connections=400",
        "start"]);

    /// <summary>Stops the server immediately (in-flight transactions are lost), as a crash or a restart would.</summary>
    public Task StopServerAsync() => RunPg("pg_ctl", ["-D", _dataDir, "-m", "immediate", "-w", "stop"]);

    /// <summary>Runs one statement on its own connection (CREATE DATABASE cannot run in a transaction block).</summary>
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try { await StopServerAsync(); }
        finally { Directory.Delete(_root, recursive: true); }
    }

    private Task RunPg(string tool, IReadOnlyList<string> args)
    {
        var path = Path.Combine(_binDir, tool);
        return _asPostgresUser ? Run("runuser", ["-u", "postgres", "--", path, .. args]) : Run(path, args);
    }

    private static async Task Run(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        // pg_ctl start leaves the server holding inherited pipes; read to the process's exit, not the pipes' end.
        var stderr = process.StandardError.ReadLineAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
    }

    private static string FindBinDir()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0, Bin: Path.Combine(d, "bin")))
                .Where(c => c.Version >= 15 && File.Exists(Path.Combine(c.Bin, "initdb")))
                .OrderByDescending(c => c.Version).Select(c => c.Bin)
            : [];
        return candidates.FirstOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL 15+ server binaries not found under /usr/lib/postgresql; install Debian's postgresql package (./test.sh does)");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
