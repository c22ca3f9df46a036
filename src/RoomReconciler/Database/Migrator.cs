using System.Data.Common;
using EvolveDb;
using Npgsql;

namespace RoomReconciler.Database;

/// <summary>
/// Applies db/migrations with Evolve: each script once, in version order, each in its own transaction,
/// recorded with a checksum in the <c>roomreconciler.changelog</c> table. Evolve refuses a database whose applied
/// scripts no longer match their files, and serialises concurrent migrators with a PostgreSQL advisory
/// lock (its cluster mode), so two replicas starting together cannot collide.
/// <para>
/// The database also keeps its own record, whoever applied the scripts: each one inserts its version into
/// <c>roomreconciler.migrations</c> as its first statement (db/README.md). A database installed with psql, the SQL
/// editor or the Supabase CLI therefore has that record and no changelog; <see cref="Migrate"/> writes the changelog
/// rows of what it finds there (Evolve's "skip" of those scripts, with the checksums of the files as they are now)
/// and applies only the rest, and <see cref="GetPendingAsync"/> counts both records.
/// </para>
/// <para>
/// Every schema is named here rather than taken from the role's search_path (Supabase's <c>postgres</c> role has
/// <c>"\$user", public, extensions</c>, whose first entry Evolve would use). V001 runs with only the application's
/// schema on the path, so it finds or creates <c>sessions</c> there; every later script runs with
/// <c>roomreconciler</c> first, so what it creates is internal and cannot collide with an application table.
/// </para>
/// </summary>
public sealed class Migrator(string connectionString, string? migrationsFolder = null)
{
    public const string Schema = "roomreconciler";
    public const string ChangelogTable = "changelog";
    public const string QualifiedChangelog = Schema + "." + ChangelogTable;
    /// <summary>The database's own record of the scripts applied to it, written by the scripts themselves.</summary>
    public const string QualifiedHistory = Schema + ".migrations";
    private const string SupersededFile = "superseded-checksums.txt";

    /// <summary>The folder holding the V###__name.sql scripts; by default the copy shipped beside the binary.</summary>
    public string MigrationsFolder { get; } = migrationsFolder ?? DefaultFolder;

    public static string DefaultFolder => Path.Combine(AppContext.BaseDirectory, "db", "migrations");

    /// <returns>The scripts applied by this call, and those it found applied by another tool and recorded.</returns>
    public MigrationRun Migrate(Action<string>? log = null)
    {
        // Held until the end, on a connection of its own (a pooled one would keep the lock after its return): two
        // migrators starting together would otherwise race to create the schema, which CREATE SCHEMA IF NOT EXISTS
        // does not survive. Evolve's own lock then serialises each run inside it.
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        connection.Open();
        using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(hashtext('roomreconciler.migrate'))", connection))
        {
            lockCommand.CommandTimeout = 0;
            lockCommand.ExecuteNonQuery();
        }
        var scripts = Scripts();
        var appSchema = Prepare(connection, scripts);
        var recorded = RecordFound(connection, appSchema, scripts, log);
        var applied = new List<string>();
        if (!HasChangelogRow(connection, "001"))
            applied.AddRange(MigrateWith(SearchPath(appSchema), "001", skip: false, log));
        applied.AddRange(MigrateWith(SearchPath(Schema, appSchema), null, skip: false, log));
        return new MigrationRun(applied, recorded);
    }

    /// <summary>
    /// The scripts that the database's own record holds and the changelog does not (applied by psql, the SQL editor or
    /// the Supabase CLI): Evolve writes their changelog rows without running them. They must be every script up to
    /// the last one found: a gap means a script was skipped by hand, which nothing here can repair safely.
    /// </summary>
    private List<string> RecordFound(NpgsqlConnection connection, string appSchema, IReadOnlyList<Script> scripts, Action<string>? log)
    {
        var history = ReadHistory(connection);
        var found = scripts.Where(s => history.Recorded.Contains(s.Version) && !history.Changelog.ContainsKey(s.Version)).ToList();
        if (found.Count == 0) return [];
        var last = found[^1];
        if (scripts.TakeWhile(s => s != last).FirstOrDefault(s => !history.Applied(s.Version)) is { } gap)
            throw new MigrationException($"{gap.Name} is not applied but {last.Name} is; apply {gap.Name} as the others were, then migrate again");
        MigrateWith(SearchPath(Schema, appSchema), last.Version, skip: true, log);
        return found.Select(s => s.Name).ToList();
    }

    /// <param name="skip">record the scripts up to <paramref name="targetVersion"/> as applied without running them</param>
    private List<string> MigrateWith(string searchPath, string? targetVersion, bool skip, Action<string>? log)
    {
        using var connection = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = searchPath }.ConnectionString);
        var evolve = Create(connection, log);
        if (targetVersion is not null) evolve.TargetVersion = new EvolveDb.Migration.MigrationVersion(targetVersion);
        evolve.SkipNextMigrations = skip;
        Run(evolve.Migrate);
        return evolve.AppliedMigrations.ToList();
    }

    private static string SearchPath(params string[] schemas) =>
        string.Join(", ", schemas.Select(s => "\"" + s.Replace("\"", "\"\"") + "\""));

    /// <summary>
    /// Creates the internal schema, moves a changelog left elsewhere by an earlier version (which took the role's
    /// search_path) into it, accepts the released checksums of scripts edited since (<c>superseded-checksums.txt</c>),
    /// gives an install made before the scripts recorded themselves its record, and finds the application's schema:
    /// where <c>sessions</c> is, else the first schema of the search_path that exists.
    /// </summary>
    private string Prepare(NpgsqlConnection connection, IReadOnlyList<Script> scripts)
    {
        using (var create = new NpgsqlCommand($"CREATE SCHEMA IF NOT EXISTS {Schema}", connection))
            create.ExecuteNonQuery();
        using var adopt = new NpgsqlCommand($$"""
            DO $$
            DECLARE v_old regclass;
            BEGIN
                IF to_regclass('{{QualifiedChangelog}}') IS NOT NULL THEN RETURN; END IF;
                SELECT c.oid INTO v_old FROM pg_class c
                WHERE c.relname = '{{ChangelogTable}}' AND c.relkind = 'r'
                  AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'checksum')
                LIMIT 1;
                IF v_old IS NOT NULL THEN
                    EXECUTE format('ALTER TABLE %s SET SCHEMA {{Schema}}', v_old);
                    IF NOT EXISTS (SELECT FROM {{QualifiedChangelog}} WHERE name = 'V001__sessions.sql') THEN
                        RAISE EXCEPTION 'table % is not RoomReconciler''s changelog', v_old;
                    END IF;
                END IF;
            END;
            $$
            """, connection);
        using var find = new NpgsqlCommand(
            "SELECT coalesce((SELECT c.relnamespace::regnamespace::name FROM pg_class c WHERE c.oid = to_regclass('sessions')), current_schema(), 'public')",
            connection);
        try
        {
            adopt.ExecuteNonQuery();
            var appSchema = (string)find.ExecuteScalar()!;
            var history = ReadHistory(connection);
            if (history.Changelog.Count == 0) return appSchema;
            AcceptSupersededChecksums(connection, scripts);
            if (!history.HasRecord) CreateRecord(connection, appSchema, scripts);
            return appSchema;
        }
        catch (PostgresException e) { throw new MigrationException($"cannot prepare the database for migrations: {e.MessageText}", e); }
    }

    /// <summary>A changelog row holding a script's released checksum takes its current one (db/README.md, "Released scripts").</summary>
    private void AcceptSupersededChecksums(NpgsqlConnection connection, IReadOnlyList<Script> scripts)
    {
        var current = scripts.ToDictionary(s => s.Name, s => s.Checksum);
        foreach (var (name, released, replacement) in Superseded())
        {
            if (current.GetValueOrDefault(name) is not { } checksum || checksum != replacement) continue;
            using var update = new NpgsqlCommand(
                $"UPDATE {QualifiedChangelog} SET checksum = $1 WHERE type = 0 AND name = $2 AND checksum = $3", connection);
            update.Parameters.AddWithValue(checksum);
            update.Parameters.AddWithValue(name);
            update.Parameters.AddWithValue(released);
            update.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// An install that <c>migrate</c> made before the scripts recorded themselves: V001 (idempotent; its first
    /// statements make the record) runs again, and the record takes every script of the changelog.
    /// </summary>
    private static void CreateRecord(NpgsqlConnection connection, string appSchema, IReadOnlyList<Script> scripts)
    {
        using var transaction = connection.BeginTransaction();
        var sessionsScript = scripts.FirstOrDefault(s => s.Version == "001")
            ?? throw new MigrationException("V001__sessions.sql is missing from the migrations folder");
        using (var path = new NpgsqlCommand($"SELECT set_config('search_path', {Literal(SearchPath(appSchema))}, true)", connection, transaction))
            path.ExecuteNonQuery();
        using (var v001 = new NpgsqlCommand(File.ReadAllText(sessionsScript.Path), connection, transaction))
            v001.ExecuteNonQuery();
        using (var backfill = new NpgsqlCommand($$"""
            INSERT INTO {{QualifiedHistory}} (version, name, applied_at, applied_by)
            SELECT c.version, substring(c.name FROM '^V[0-9]+__(.*)\.sql$'), c.installed_on, c.installed_by
            FROM {{QualifiedChangelog}} c WHERE c.type = 0 AND c.success AND c.version <> '001';
            DO $$
            BEGIN
                IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'roomreconciler_daemon') THEN
                    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {{QualifiedHistory}} FROM roomreconciler_daemon;
                END IF;
            END;
            $$;
            """, connection, transaction))
            backfill.ExecuteNonQuery();
        transaction.Commit();
    }

    private static string Literal(string text) => "'" + text.Replace("'", "''") + "'";

    private static bool HasChangelogRow(NpgsqlConnection connection, string version) => ReadHistory(connection).Changelog.ContainsKey(version);

    /// <summary>What the database says was applied: its own record, and Evolve's changelog with checksums.</summary>
    private sealed record History(bool HasRecord, IReadOnlySet<string> Recorded, IReadOnlyDictionary<string, (string Name, string? Checksum)> Changelog)
    {
        public bool Applied(string version) => Recorded.Contains(version) || Changelog.ContainsKey(version);
    }

    private static History ReadHistory(NpgsqlConnection connection) => ReadHistoryAsync(connection, CancellationToken.None).GetAwaiter().GetResult();

    private static async Task<History> ReadHistoryAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var tables = new NpgsqlCommand(
            $"SELECT to_regclass('{QualifiedHistory}') IS NOT NULL, to_regclass('{QualifiedChangelog}') IS NOT NULL", connection);
        bool hasRecord, hasChangelog;
        await using (var reader = await tables.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (hasRecord, hasChangelog) = (reader.GetBoolean(0), reader.GetBoolean(1));
        }
        var recorded = new HashSet<string>();
        var changelog = new Dictionary<string, (string, string?)>();
        if (hasRecord)
        {
            await using var command = new NpgsqlCommand($"SELECT version FROM {QualifiedHistory}", connection);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) recorded.Add(reader.GetString(0));
        }
        if (hasChangelog)
        {
            await using var command = new NpgsqlCommand(
                $"SELECT version, name, checksum FROM {QualifiedChangelog} WHERE type = 0 AND success", connection);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                changelog[reader.GetString(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }
        return new History(hasRecord, recorded, changelog);
    }

    /// <summary>
    /// Scripts present in the folder but applied by no tool, and whether those that <c>migrate</c> applied still match
    /// their files (a released checksum that <c>migrate</c> will accept counts as a match).
    /// </summary>
    public MigrationStatus GetStatus()
    {
        var scripts = Scripts();
        var superseded = Superseded();
        using var connection = new NpgsqlConnection(connectionString);
        try
        {
            connection.Open();
            var history = ReadHistory(connection);
            var byName = scripts.ToDictionary(s => s.Name);
            var changed = history.Changelog.Values
                .Where(row => !byName.TryGetValue(row.Name, out var script)
                              || (row.Checksum != script.Checksum && !superseded.Contains((row.Name, row.Checksum ?? "", script.Checksum))))
                .Select(row => byName.ContainsKey(row.Name) ? $"invalid checksum for migration: {row.Name} (changed since it was applied)"
                                                             : $"applied migration {row.Name} has no script")
                .ToList();
            return new MigrationStatus(
                scripts.Where(s => history.Applied(s.Version)).Select(s => s.Version).ToList(),
                scripts.Where(s => !history.Applied(s.Version)).Select(s => s.Version).ToList(),
                changed.Count == 0 ? null : string.Join("; ", changed));
        }
        catch (PostgresException e) { throw new MigrationException(e.MessageText, e); }
    }

    /// <summary>
    /// The scripts not yet applied, from the database's records and the file names alone: cheap enough for every start
    /// and readiness probe. Checksums are verified by <see cref="Migrate"/> and <see cref="GetStatus"/> (`check`).
    /// </summary>
    public async Task<IReadOnlyList<string>> GetPendingAsync(CancellationToken ct)
    {
        var scripts = Scripts();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        var history = await ReadHistoryAsync(connection, ct);
        return scripts.Where(s => !history.Applied(s.Version)).Select(s => s.Version).ToList();
    }

    /// <summary>The V###__name.sql scripts of the folder, in version order, with Evolve's checksum of each.</summary>
    public IReadOnlyList<Script> Scripts() => ScriptsIn(MigrationsFolder);

    public static IReadOnlyList<Script> ScriptsIn(string folder) => !Directory.Exists(folder)
        ? throw new MigrationException($"migrations folder {folder} does not exist")
        : Directory.GetFiles(folder, "V*__*.sql").Select(Script.Of).OrderBy(s => s.Version, StringComparer.Ordinal).ToList();

    /// <summary>superseded-checksums.txt: a script, the checksum it was released with, and the one of the text that replaced it.</summary>
    private HashSet<(string Name, string Released, string Replacement)> Superseded()
    {
        var path = Path.Combine(MigrationsFolder, SupersededFile);
        return File.Exists(path)
            ? File.ReadLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(p => (p[0], p[1], p[2])).ToHashSet()
            : [];
    }

    private Evolve Create(DbConnection connection, Action<string>? log)
    {
        if (!Directory.Exists(MigrationsFolder))
            throw new MigrationException($"migrations folder {MigrationsFolder} does not exist");
        return new Evolve(connection, log ?? (_ => { }), EvolveDb.Dialect.DBMS.PostgreSQL)
        {
            Locations = [MigrationsFolder],
            Schemas = [Schema],
            MetadataTableSchema = Schema,
            MetadataTableName = ChangelogTable,
            TransactionMode = EvolveDb.Configuration.TransactionKind.CommitEach,
            EnableClusterMode = true,
            IsEraseDisabled = true,
            MustEraseOnValidationError = false,
        };
    }

    private static T Run<T>(Func<T> action)
    {
        try { return action(); }
        catch (EvolveException e) { throw new MigrationException(Describe(e), e); }
    }

    private static void Run(Action action) => Run(() => { action(); return 0; });

    // Evolve nests the useful sentence (checksum mismatch, SQL error) inside generic wrappers.
    private static string Describe(Exception e)
    {
        var messages = new List<string>();
        for (var x = e; x is not null; x = x.InnerException)
            if (!messages.Contains(x.Message)) messages.Add(x.Message);
        return System.Text.RegularExpressions.Regex.Replace(string.Join(": ", messages), @"\s*\n\s*-?\s*", " ");
    }
}

/// <summary>One migration script: V006__internal_schema_and_privileges.sql is version "006", name "internal_schema_and_privileges".</summary>
public sealed record Script(string Path, string Name, string Version, string Description, string Checksum)
{
    public static Script Of(string path)
    {
        var name = System.IO.Path.GetFileName(path);
        var separator = name.IndexOf("__", StringComparison.Ordinal);
        return new Script(path, name, name[1..separator], name[(separator + 2)..^4], ChecksumOf(File.ReadAllText(path)));
    }

    /// <summary>Evolve's: MD5 of the UTF-8 text with CRLF read as LF, in upper-case hex.</summary>
    public static string ChecksumOf(string text) =>
        Convert.ToHexString(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text.Replace("\r\n", "\n"))));
}

/// <param name="Applied">the scripts this run applied</param>
/// <param name="Recorded">the scripts it found applied by another tool (psql, the Supabase CLI) and wrote into the changelog</param>
public sealed record MigrationRun(IReadOnlyList<string> Applied, IReadOnlyList<string> Recorded);

public sealed record MigrationStatus(IReadOnlyList<string> Applied, IReadOnlyList<string> Pending, string? Problem)
{
    public bool IsCurrent => Pending.Count == 0 && Problem is null;

    public string Describe() => Problem is not null
        ? $"database migrations are invalid: {Problem}"
        : Pending.Count > 0
            ? Behind(Pending)
            : $"database migrations are current (version {Applied.LastOrDefault() ?? "none"})";

    public static string Behind(IReadOnlyList<string> pending) =>
        $"database migrations are behind: {pending.Count} pending ({string.Join(", ", pending)}); run 'RoomReconciler migrate'";
}

public sealed class MigrationException(string message, Exception? inner = null) : Exception(message, inner);
