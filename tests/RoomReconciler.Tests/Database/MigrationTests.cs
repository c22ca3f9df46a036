using Npgsql;
using RoomReconciler.Database;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Database;

public sealed class MigrationTests
{
    [Test]
    public async Task ApplicationOwnedSessionsTable_KeepsItsColumnsAndRows()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        await TestDatabase.ExecuteAsync(connectionString, """
            CREATE TABLE sessions (id uuid PRIMARY KEY, customer text NOT NULL, price_cents int, started_at timestamptz);
            INSERT INTO sessions VALUES ('00000000-0000-0000-0000-000000000001', 'alice', 4200, '2026-01-01T10:00:00Z'),
                                        ('00000000-0000-0000-0000-000000000002', 'bob', NULL, NULL);
            """);

        new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate();

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, customer, price_cents, started_at, is_paused, total_paused_ms, last_state_change_at FROM sessions ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            reader.GetValues(row!);
            rows.Add(row.Select(v => v is DBNull ? null : v).ToArray());
        }
        Assert.That(rows, Has.Count.EqualTo(2));
        Assert.That(rows[0], Is.EqualTo(new object?[] { Guid.Parse("00000000-0000-0000-0000-000000000001"), "alice", 4200,
            new DateTime(2026, 1, 1, 10, 0, 0, DateTimeKind.Utc), false, 0L, null }));
        Assert.That(rows[1][1], Is.EqualTo("bob"));

        await using var clock = new ClockDatabase(connectionString);
        var history = Guid.Parse("00000000-0000-0000-0000-000000000001");
        var untracked = await clock.GetAsync(history);
        Assert.That((untracked.Time("started_at"), untracked.Elapsed()), Is.EqualTo(((DateTime?)null, 0L)),
            "a session the clock never tracked reads as not started, not as months of running time");
        await TestDatabase.ExecuteAsync(connectionString, $"UPDATE sessions SET clock_tracked = true WHERE id = '{history}'");
        var tracked = await clock.GetAsync(history);
        Assert.That(tracked.Time("started_at"), Is.EqualTo(new DateTime(2026, 1, 1, 10, 0, 0, DateTimeKind.Utc)),
            "once tracked, the clock functions work on the application's own rows");
    }

    [Test]
    public async Task AnApplicationTableCalledSessionEvents_IsLeftAlone()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        await TestDatabase.ExecuteAsync(connectionString, """
            CREATE TABLE sessions (id uuid PRIMARY KEY);
            CREATE TABLE session_events (id serial PRIMARY KEY, kind text NOT NULL);
            INSERT INTO session_events (kind) VALUES ('chat_message');
            """);

        new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate();

        await using var clock = new ClockDatabase(connectionString);
        var session = await clock.NewSessionAsync();
        await clock.TransitionAsync("start", session, null);
        Assert.That(await clock.EventsAsync(session), Has.Count.EqualTo(1), "the clock logs into roomreconciler.session_events");
        await using var command = clock.DataSource.CreateCommand("SELECT string_agg(kind, ',') FROM public.session_events");
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("chat_message"), "the application's table is as it was");
    }

    [Test]
    public async Task MigratingTwice_IsANoOp()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        var migrator = new Migrator(connectionString, TestDatabase.MigrationsFolder);
        var first = migrator.Migrate().Applied;
        var second = migrator.Migrate().Applied;
        Assert.That(first, Has.Count.EqualTo(Directory.GetFiles(TestDatabase.MigrationsFolder, "*.sql").Length));
        Assert.That(second, Is.Empty);
        Assert.That(migrator.GetStatus().IsCurrent, Is.True);
    }

    [Test]
    public async Task ATamperedMigration_IsRefused()
    {
        var folder = CopyOfMigrations();
        var connectionString = await TestDatabase.CreateEmptyAsync();
        new Migrator(connectionString, folder).Migrate();
        var first = Directory.GetFiles(folder, "*.sql").Order().First();
        await File.AppendAllTextAsync(first, "\n-- an innocent-looking edit\n");

        var migrator = new Migrator(connectionString, folder);
        var refusal = Assert.Throws<MigrationException>(() => migrator.Migrate());
        Assert.That(refusal!.Message, Does.Contain("checksum").IgnoreCase);
        Assert.That(migrator.GetStatus().IsCurrent, Is.False);
        Assert.That(migrator.GetStatus().Describe(), Does.StartWith("database migrations are invalid"));
    }

    [Test]
    public async Task ADatabaseBehindTheScripts_IsReportedAsPending()
    {
        var folder = CopyOfMigrations();
        var connectionString = await TestDatabase.CreateEmptyAsync();
        new Migrator(connectionString, folder).Migrate();
        await File.WriteAllTextAsync(Path.Combine(folder, "V999__later.sql"), "CREATE TABLE later (id int);");

        var status = new Migrator(connectionString, folder).GetStatus();
        Assert.That(status.Pending, Is.EqualTo(new[] { "999" }));
        Assert.That(status.Describe(), Does.StartWith("database migrations are behind: 1 pending"));
        Assert.That(await new Migrator(connectionString, folder).GetPendingAsync(CancellationToken.None), Is.EqualTo(new[] { "999" }),
            "the cheap check used at start and by /readyz agrees");
        var empty = await TestDatabase.CreateEmptyAsync();
        Assert.That(await new Migrator(empty, folder).GetPendingAsync(CancellationToken.None), Has.Count.EqualTo(Directory.GetFiles(folder, "*.sql").Length));
    }

    [Test]
    public async Task TwoMigratorsAtOnce_ApplyEachScriptOnce()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        var runs = Enumerable.Range(0, 3)
            .Select(_ => Task.Run(() => new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate().Applied))
            .ToList();
        var applied = await Task.WhenAll(runs);

        var scripts = Directory.GetFiles(TestDatabase.MigrationsFolder, "*.sql").Length;
        Assert.That(applied.Sum(a => a.Count), Is.EqualTo(scripts), "every script applied by exactly one migrator");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT count(*) FROM {Migrator.QualifiedChangelog} WHERE name LIKE 'V%'", connection);
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo(scripts));
    }

    /// <summary>
    /// An install as the releases before V006 made it: V001-V005 applied by Evolve with its defaults (changelog and
    /// every object in the first schema of the search_path), and Quartz's tables beside them.
    /// </summary>
    /// <param name="rolesSearchPath">leave the role's own search_path to Evolve (as those releases did) instead of public</param>
    public static async Task InstallBeforeTheInternalSchemaAsync(string connectionString, bool rolesSearchPath = false)
    {
        var folder = ReleasedScripts(before: "V006");
        await using var connection = new NpgsqlConnection(rolesSearchPath ? connectionString
            : new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = "public" }.ConnectionString);
        new EvolveDb.Evolve(connection, _ => { }, EvolveDb.Dialect.DBMS.PostgreSQL)
        {
            Locations = [folder], MetadataTableName = Migrator.ChangelogTable, EnableClusterMode = true, IsEraseDisabled = true,
        }.Migrate();
        await TestDatabase.ExecuteAsync(connectionString, """
            CREATE TABLE public.qrtz_locks (sched_name text NOT NULL, lock_name text NOT NULL, PRIMARY KEY (sched_name, lock_name));
            INSERT INTO public.qrtz_locks VALUES ('RoomReconciler', 'TRIGGER_ACCESS');
            """);
    }

    [Test]
    public async Task AnInstallFromBeforeTheInternalSchema_MovesInKeepingItsHistoryAndItsTracking()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        await InstallBeforeTheInternalSchemaAsync(connectionString);
        await using var old = new ClockDatabase(connectionString);
        var session = await old.NewSessionAsync();
        await old.CallAsync("session_clock_start($1, 'before')", session);

        var applied = new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate().Applied;

        Assert.That(applied, Is.EqualTo(ScriptsAfter("V005")), "the old changelog was found and kept");
        Assert.That(await ScalarAsync<string[]>(connectionString, $"SELECT array_agg(version ORDER BY version) FROM {Migrator.QualifiedHistory}"),
            Is.EqualTo(EveryVersion()), "the database's own record, from the changelog and the scripts since");
        Assert.That(await old.EventsAsync(session), Has.Count.EqualTo(1), "the event log moved with its rows");
        Assert.That((await old.GetAsync(session)).Time("started_at"), Is.Not.Null, "a session the old install tracked stays tracked");
        await using var check = new NpgsqlConnection(connectionString);
        await check.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT (SELECT array_agg(relname::text ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'),
                   (SELECT count(*) FROM roomreconciler.qrtz_locks)
            """, check);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.That(reader.GetFieldValue<string[]>(0), Is.EqualTo(new[] { "sessions" }));
        Assert.That(reader.GetInt64(1), Is.EqualTo(1), "Quartz's tables moved with their rows");
    }

    /// <summary>The line after which a script edited since its release holds its released text (db/README.md).</summary>
    public const string ReleasedMarker = "-- ^ Added after this script was released";

    /// <summary>A script's text as first released: what follows the marker line, or all of it.</summary>
    public static string Released(string text) =>
        text.IndexOf(ReleasedMarker, StringComparison.Ordinal) is var at and >= 0 ? text[(text.IndexOf('\n', at) + 1)..] : text;

    /// <summary>The first script written after the last release (V001-V007 are released).</summary>
    private const string FirstUnreleased = "V008";

    /// <summary>The scripts after the one named (or from it), by file name.</summary>
    internal static string[] ScriptsAfter(string name, bool inclusive = false) =>
        [.. Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Select(s => s.Name)
            .Where(n => string.CompareOrdinal(n, name) > 0 && (inclusive || !n.StartsWith(name, StringComparison.Ordinal)))];

    private static string[] EveryVersion() => [.. Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Select(s => s.Name[1..4])];

    /// <summary>A folder holding the scripts before the one named, as they were released.</summary>
    public static string ReleasedScripts(string before)
    {
        var folder = Directory.CreateTempSubdirectory("roomreconciler-released-").FullName;
        foreach (var script in Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Where(s => string.CompareOrdinal(s.Name, before) < 0))
            File.WriteAllText(Path.Combine(folder, script.Name), Released(File.ReadAllText(script.Path)));
        return folder;
    }

    [Test]
    public void EveryScriptEditedSinceItsRelease_HasItsReleasedChecksumAccepted()
    {
        var accepted = File.ReadLines(Path.Combine(TestDatabase.MigrationsFolder, "superseded-checksums.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => (Released: p[1], Current: p[2]));
        foreach (var script in Migrator.ScriptsIn(TestDatabase.MigrationsFolder))
        {
            var released = Script.ChecksumOf(Released(File.ReadAllText(script.Path)));
            if (released == script.Checksum) Assert.That(accepted, Does.Not.ContainKey(script.Name), "a script never edited needs no entry");
            else Assert.That(accepted.GetValueOrDefault(script.Name), Is.EqualTo((released, script.Checksum)),
                $"{script.Name} changed after its release: its released text (after the marker) must be exactly what shipped, with that checksum listed");
        }
        Assert.That(accepted, Has.Count.EqualTo(7), "V001-V007 were released before the scripts recorded themselves");
    }

    /// <summary>
    /// An install made by the release before this one: every script as released, applied by that release's migrator
    /// (V001 with the application's schema on the path, the others with roomreconciler first).
    /// </summary>
    [Test]
    public async Task AnInstallOfTheReleasedScripts_UpgradesApplyingNothing_AndStillCatchesAChangedScript()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        var released = ReleasedScripts(before: FirstUnreleased);
        foreach (var (path, target) in new[] { ("\"public\"", "001"), ("\"roomreconciler\", \"public\"", (string?)null) })
        {
            await TestDatabase.ExecuteAsync(connectionString, "CREATE SCHEMA IF NOT EXISTS roomreconciler");
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = path }.ConnectionString);
            var evolve = new EvolveDb.Evolve(connection, _ => { }, EvolveDb.Dialect.DBMS.PostgreSQL)
            {
                Locations = [released], Schemas = [Migrator.Schema], MetadataTableSchema = Migrator.Schema, MetadataTableName = Migrator.ChangelogTable,
                EnableClusterMode = true, IsEraseDisabled = true,
            };
            if (target is not null) evolve.TargetVersion = new EvolveDb.Migration.MigrationVersion(target);
            evolve.Migrate();
        }
        await using var clock = new ClockDatabase(connectionString);
        var session = await clock.NewSessionAsync();
        await clock.TransitionAsync("start", session, null);
        var folder = CopyOfMigrations();
        var status = new Migrator(connectionString, folder).GetStatus();
        Assert.That((status.Problem, status.Pending.Count), Is.EqualTo(((string?)null, ScriptsAfter(FirstUnreleased, inclusive: true).Length)),
            "`check` accepts the released checksums before any migrate; only the scripts since the release are pending");

        var run = new Migrator(connectionString, folder).Migrate();

        Assert.That((run.Applied, run.Recorded), Is.EqualTo((ScriptsAfter(FirstUnreleased, inclusive: true), Array.Empty<string>())),
            "nothing released applied again, the scripts since applied once");
        Assert.That(await ScalarAsync<string[]>(connectionString, $"SELECT array_agg(version ORDER BY version) FROM {Migrator.QualifiedHistory}"),
            Is.EqualTo(EveryVersion()), "the record is made from the changelog, and by the scripts since");
        Assert.That(await ScalarAsync<long>(connectionString, $"SELECT count(*) FROM {Migrator.QualifiedChangelog} c WHERE c.type = 0 AND c.checksum = ANY($1)",
            (object)Migrator.ScriptsIn(folder).Select(s => s.Checksum).ToArray()), Is.EqualTo(Migrator.ScriptsIn(folder).Count()),
            "the changelog holds the current checksums, of the released scripts and of those since");
        Assert.That((await clock.GetAsync(session)).Time("started_at"), Is.Not.Null, "the clock as it was");
        Assert.That(await ScalarAsync<bool>(connectionString,
            "SELECT has_table_privilege('roomreconciler_daemon', 'roomreconciler.migrations', 'SELECT') AND NOT has_table_privilege('roomreconciler_daemon', 'roomreconciler.migrations', 'INSERT, UPDATE, DELETE')"),
            Is.True, "the daemon reads the record and cannot write it");

        await File.AppendAllTextAsync(Path.Combine(folder, "V003__clock_functions.sql"), "\n-- edited after it was applied\n");
        Assert.That(new Migrator(connectionString, folder).GetStatus().Describe(), Does.StartWith("database migrations are invalid"));
        Assert.That(() => new Migrator(connectionString, folder).Migrate(), Throws.TypeOf<MigrationException>().With.Message.Contains("checksum"));
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters) command.Parameters.AddWithValue(p);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static string CopyOfMigrations()
    {
        var folder = Directory.CreateTempSubdirectory("roomreconciler-migrations-").FullName;
        foreach (var file in Directory.GetFiles(TestDatabase.MigrationsFolder))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        return folder;
    }
}
