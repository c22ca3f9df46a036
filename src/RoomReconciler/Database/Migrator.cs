using System.Data.Common;
using EvolveDb;
using Npgsql;

namespace RoomReconciler.Database;

/// <summary>
/// Applies db/migrations with Evolve: each script once, in version order, each in its own transaction,
/// recorded with a checksum in the <c>changelog</c> table. Evolve refuses a database whose applied
/// scripts no longer match their files, and serialises concurrent migrators with a PostgreSQL advisory
/// lock (its cluster mode), so two replicas starting together cannot collide.
/// </summary>
public sealed class Migrator(string connectionString, string? migrationsFolder = null)
{
    public const string ChangelogTable = "changelog";

    /// <summary>The folder holding the V###__name.sql scripts; by default the copy shipped beside the binary.</summary>
    public string MigrationsFolder { get; } = migrationsFolder ?? Path.Combine(AppContext.BaseDirectory, "db", "migrations");

    /// <returns>The versions applied by this call (empty when the database was already up to date).</returns>
    public IReadOnlyList<string> Migrate(Action<string>? log = null)
    {
        using var connection = new NpgsqlConnection(connectionString);
        var evolve = Create(connection, log);
        Run(evolve.Migrate);
        return evolve.AppliedMigrations.ToList();
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
            $"SELECT version FROM {ChangelogTable} WHERE type = 0 AND success", connection);
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
