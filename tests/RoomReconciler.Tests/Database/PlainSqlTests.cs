using System.Net;
using Npgsql;
using RoomReconciler.Database;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Database;

/// <summary>
/// The scripts as plain SQL, applied with psql as the SQL editor applies a file (the Supabase-like database is in
/// <see cref="SupabaseTests"/>, installed each way): the database records each script itself, `run` accepts it, and
/// `migrate` afterwards applies only what is missing.
/// </summary>
public sealed class PlainSqlTests
{
    private static readonly string[] Versions = Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Select(s => s.Version).ToArray();

    [Test]
    public async Task EveryScript_AppliesWithPsql_OnAFreshDatabase_AndRunAcceptsIt_AndMigrateOnlyRecordsIt()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();

        await SqlTools.PsqlEveryScriptAsync(connectionString);

        Assert.That(await MigrationTests.ScalarAsync<string[]>(connectionString, $"SELECT array_agg(version ORDER BY version) FROM {Migrator.QualifiedHistory}"),
            Is.EqualTo(Versions), "each script recorded itself");
        Assert.That(await new Migrator(connectionString, TestDatabase.MigrationsFolder).GetPendingAsync(CancellationToken.None), Is.Empty);
        Assert.That(new Migrator(connectionString, TestDatabase.MigrationsFolder).GetStatus().Describe(), Does.StartWith("database migrations are current"));
        await using (var clock = new ClockDatabase(connectionString))
        {
            var session = await clock.NewSessionAsync();
            await clock.TransitionAsync("start", session, null);
            Assert.That((await clock.GetAsync(session)).Time("started_at"), Is.Not.Null, "the clock functions work");
        }
        await using (var host = await Clock.ClockHost.StartAsync(connectionString))
        using (var ready = await host.Client.GetAsync("/readyz"))
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the daemon starts on it and is ready: " + await ready.Content.ReadAsStringAsync());

        var migrate = new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate();
        Assert.That(migrate.Applied, Is.Empty, "nothing is applied again");
        Assert.That(migrate.Recorded, Has.Count.EqualTo(Versions.Length), "what psql applied is written into the changelog");
        Assert.That(new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate(), Is.EqualTo(new MigrationRun([], [])).Using<MigrationRun>(
            (a, b) => a.Applied.Count == b.Applied.Count && a.Recorded.Count == b.Recorded.Count), "and a second migrate finds nothing to do");
    }

    [Test]
    public async Task AScriptAppliedTwice_FailsOnItsFirstLine_AndChangesNothing()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        await SqlTools.PsqlEveryScriptAsync(connectionString);
        var before = await SupabaseTests.SchemaAsync(connectionString);
        var script = Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Single(s => s.Version == "003");

        var (exit, output) = await SqlTools.PsqlAsync(connectionString, script.Path);

        Assert.That(exit, Is.Not.Zero);
        Assert.That(output, Does.Contain("migrations_pkey").And.Contain(":2:"), "refused by the record on its first statement");
        Assert.That(await SupabaseTests.SchemaAsync(connectionString), Is.EqualTo(before));
    }

    [Test]
    public async Task MigrateAfterSomeScriptsByHand_AppliesOnlyTheRest()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        foreach (var script in Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Where(s => string.CompareOrdinal(s.Version, "005") <= 0))
            Assert.That((await SqlTools.PsqlAsync(connectionString, script.Path)).ExitCode, Is.Zero);

        var run = new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate();

        Assert.That(run.Recorded, Is.EqualTo(Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Take(5).Select(s => s.Name)));
        Assert.That(run.Applied, Is.EqualTo(Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Skip(5).Select(s => s.Name)));
        Assert.That(await MigrationTests.ScalarAsync<string[]>(connectionString, $"SELECT array_agg(version ORDER BY version) FROM {Migrator.QualifiedHistory}"),
            Is.EqualTo(Versions));
    }

    [Test]
    public async Task AScriptSkippedByHand_IsRefusedByMigrate_NamingIt()
    {
        var connectionString = await TestDatabase.CreateEmptyAsync();
        foreach (var script in Migrator.ScriptsIn(TestDatabase.MigrationsFolder).Where(s => s.Version is "001" or "002" or "003"))
            Assert.That((await SqlTools.PsqlAsync(connectionString, script.Path)).ExitCode, Is.Zero);
        await TestDatabase.ExecuteAsync(connectionString, $"DELETE FROM {Migrator.QualifiedHistory} WHERE version = '002'");

        Assert.That(() => new Migrator(connectionString, TestDatabase.MigrationsFolder).Migrate(),
            Throws.TypeOf<MigrationException>().With.Message.Contains("V002__presence_and_events.sql is not applied but V003__clock_functions.sql is"));
        Assert.That(await MigrationTests.ScalarAsync<bool>(connectionString, $"SELECT to_regclass('{Migrator.QualifiedChangelog}') IS NULL"),
            Is.True, "nothing recorded");
    }
}
