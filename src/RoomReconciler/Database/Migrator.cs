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

    /// <summary>The folder holding the V###__name.sql scripts; by default the copy shipped beside the binary.</summary>
    public string MigrationsFolder { get; } = migrationsFolder ?? Path.Combine(AppContext.BaseDirectory, "db", "migrations");

    /// <returns>The versions applied by this call (empty when the database was already up to date).</returns>
    public IReadOnlyList<string> Migrate(Action<string>? log = null)
    {
        var applied = new List<string>();
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
        var (appSchema, hasSessionsScript) = Prepare(connection);
        if (!hasSessionsScript)
            applied.AddRange(MigrateWith(SearchPath(appSchema), "1", log));
        applied.AddRange(MigrateWith(SearchPath(Schema, appSchema), null, log));
        return applied;
    }

    private List<string> MigrateWith(string searchPath, string? targetVersion, Action<string>? log)
    {
        using var connection = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = searchPath }.ConnectionString);
        var evolve = Create(connection, log);
        if (targetVersion is not null) evolve.TargetVersion = new EvolveDb.Migration.MigrationVersion(targetVersion);
        Run(evolve.Migrate);
        return evolve.AppliedMigrations.ToList();
    }

    private static string SearchPath(params string[] schemas) =>
        string.Join(", ", schemas.Select(s => "\"" + s.Replace("\"", "\"\"") + "\""));

    /// <summary>
    /// Creates the internal schema, moves a changelog left elsewhere by an earlier version (which took the role's
    /// search_path) into it, and finds the application's schema: where <c>sessions</c> is, else the first schema
    /// of the search_path that exists.
    /// </summary>
    /// <returns>the application's schema, and whether V001 is already recorded</returns>
    private static (string AppSchema, bool HasSessionsScript) Prepare(NpgsqlConnection connection)
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
        using var find = new NpgsqlCommand($"""
            SELECT coalesce((SELECT c.relnamespace::regnamespace::name FROM pg_class c WHERE c.oid = to_regclass('sessions')),
                            current_schema(), 'public'),
                   to_regclass('{QualifiedChangelog}') IS NOT NULL
            """, connection);
        try
        {
            adopt.ExecuteNonQuery();
            string appSchema;
            using (var reader = find.ExecuteReader())
            {
                reader.Read();
                appSchema = reader.GetString(0);
                if (!reader.GetBoolean(1)) return (appSchema, false);
            }
            using var v001 = new NpgsqlCommand(
                $"SELECT EXISTS (SELECT FROM {QualifiedChangelog} WHERE name = 'V001__sessions.sql' AND success)", connection);
            return (appSchema, (bool)v001.ExecuteScalar()!);
        }
        catch (PostgresException e) { throw new MigrationException($"cannot prepare the database for migrations: {e.MessageText}", e); }
    }

    /// <summary>Scripts present in the folder but not yet applied, and the checksum check of the applied ones.</summary>
    public MigrationStatus GetStatus()
    {
        using var connection = new NpgsqlConnection(connectionString);
        var evolve = Create(connection, null);
        var rows = Run(() => evolve.Info().ToList());
        var pending = rows.Where(r => r.Category == "Pending").Select(r => r.Version ?? "").ToList();
        var applied = rows.Where(r => r.Category == "Migration").Select(r => r.Version ?? "").ToList();
        string? problem = null;
        // Evolve's validation counts pending scripts as errors too; those are reported as "behind" instead.
        if (pending.Count == 0)
            try { Run(evolve.Validate); }
        catch (MigrationException e) { problem = e.Message; }
        return new MigrationStatus(applied, pending, problem);
    }

    /// <summary>
    /// The scripts not yet applied, from one query and the file names alone: cheap enough for every start and
    /// readiness probe. Checksums are verified by <see cref="Migrate"/> and <see cref="GetStatus"/> (`check`).
    /// </summary>
    public async Task<IReadOnlyList<string>> GetPendingAsync(CancellationToken ct)
    {
        var available = Directory.Exists(MigrationsFolder)
            ? Directory.GetFiles(MigrationsFolder, "V*__*.sql")
                .Select(f => Path.GetFileName(f)).Select(n => n[1..n.IndexOf("__", StringComparison.Ordinal)]).ToList()
            : throw new MigrationException($"migrations folder {MigrationsFolder} does not exist");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"SELECT version FROM {QualifiedChangelog} WHERE type = 0 AND success", connection);
        var applied = new HashSet<string>();
        try
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) applied.Add(reader.GetString(0));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable) { }
        return available.Where(v => !applied.Contains(v)).Order(StringComparer.Ordinal).ToList();
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
