using System.Diagnostics;
using Npgsql;
using RoomReconciler.Database;

namespace RoomReconciler.Tests.Support;

/// <summary>
/// The tools an application's team installs SQL with, run for real: psql as the SQL editor does (each script as one
/// transaction, stopping at the first error), and the Supabase CLI (npm supabase, pinned in .ci/node) pushing the
/// export of <c>RoomReconciler migrations export --supabase</c>.
/// </summary>
public static class SqlTools
{
    /// <summary>The pinned CLI, installed by ./test.sh (npm ci in .ci/node).</summary>
    public static string SupabaseCli
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (Path.Combine(dir.FullName, ".ci", "node", "node_modules", ".bin", "supabase") is var cli && File.Exists(cli)) return cli;
            throw new InvalidOperationException("the Supabase CLI is not installed: run `npm ci` in .ci/node (./test.sh does)");
        }
    }

    /// <summary><c>psql -v ON_ERROR_STOP=1 -1 -f</c> of one script, as the role of the connection string with its own search_path.</summary>
    public static Task<(int ExitCode, string Output)> PsqlAsync(string connectionString, string script) =>
        RunAsync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", script], connectionString);

    /// <summary>Every migration with psql, in order; throws at the first that fails.</summary>
    public static async Task PsqlEveryScriptAsync(string connectionString)
    {
        foreach (var script in Migrator.ScriptsIn(TestDatabase.MigrationsFolder))
        {
            var (exit, output) = await PsqlAsync(connectionString, script.Path);
            if (exit != 0) throw new InvalidOperationException($"psql -1 -f {script.Name} exited {exit}: {output}");
        }
    }

    /// <summary>A Supabase project folder whose supabase/migrations holds the export, as a team's repository would.</summary>
    public static string SupabaseProject()
    {
        var project = Directory.CreateTempSubdirectory("roomreconciler-supabase-").FullName;
        SupabaseExport.Write(Migrator.ScriptsIn(TestDatabase.MigrationsFolder), Path.Combine(project, "supabase", "migrations"));
        return project;
    }

    /// <summary><c>supabase db push --db-url ...?sslmode=disable --yes</c> from the project folder.</summary>
    public static async Task<string> SupabasePushAsync(string project, string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var url = $"postgresql://{Uri.EscapeDataString(b.Username!)}:{Uri.EscapeDataString(b.Password ?? "")}@{b.Host}:{b.Port}/{Uri.EscapeDataString(b.Database!)}?sslmode=disable";
        var (exit, output) = await RunAsync(SupabaseCli, ["db", "push", "--db-url", url, "--yes"], null, project);
        return exit == 0 ? output : throw new InvalidOperationException($"supabase db push exited {exit}: {output}");
    }

    private static async Task<(int, string)> RunAsync(string file, IReadOnlyList<string> args, string? connectionString, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        // The CLI must not look for a login or a linked project, nor send telemetry.
        start.Environment["DO_NOT_TRACK"] = "1";
        if (connectionString is not null)
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            (start.Environment["PGHOST"], start.Environment["PGPORT"], start.Environment["PGUSER"], start.Environment["PGDATABASE"]) =
                (b.Host, b.Port.ToString(), b.Username, b.Database);
            start.Environment["PGPASSWORD"] = b.Password ?? "";
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}
