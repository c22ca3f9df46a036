using Npgsql;
using RoomReconciler.Database;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Database;

/// <summary>db/schema/functions.sql is what the migrations make, so a reader can trust it.</summary>
public sealed class FunctionDefinitionsTests
{
    private static string Repository
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "RoomReconciler.sln"))) return dir.FullName;
            throw new InvalidOperationException("the repository root (RoomReconciler.sln) is not above the test binaries");
        }
    }

    private static readonly System.Text.RegularExpressions.Regex Create =
        new(@"(?m)^CREATE (OR REPLACE )?FUNCTION\s+(?<name>[\w.]+)\s*\(");

    private static string FunctionsFile => Path.Combine(Repository, "db", "schema", "functions.sql");

    [Test]
    public void TheFile_IsWhatTheMigrationsGenerate()
    {
        Assert.That(File.ReadAllText(FunctionsFile), Is.EqualTo(FunctionDefinitions.Generate(Migrator.ScriptsIn(TestDatabase.MigrationsFolder))),
            "db/schema/functions.sql is stale: run `dotnet run --project src/RoomReconciler -- migrations functions \"$PWD/db/schema/functions.sql\"` from the repository root");
    }

    /// <summary>
    /// Every function of a fully migrated database is in the file, and running the file's definitions over it (as
    /// CREATE OR REPLACE, each in the schema where its function is) leaves every function's body and signature as it was.
    /// </summary>
    [Test]
    public async Task TheFile_StatesEveryFunctionInForce()
    {
        var connectionString = await TestDatabase.CreateMigratedAsync();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var before = await FunctionsAsync(connection);
        var statements = FunctionDefinitions.Statements(File.ReadAllText(FunctionsFile)).Where(s => Create.IsMatch(s)).ToList();
        var names = statements.Select(s => Create.Match(s).Groups["name"].Value).ToList();
        Assert.That(names.Order(), Is.EqualTo(before.Keys.Order()), "one definition for each function, none missing");

        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var (statement, name) in statements.Zip(names))
        {
            var schema = before[name].Schema;
            await using var path = new NpgsqlCommand($"SET LOCAL search_path = \"{schema}\", roomreconciler, public", connection, transaction);
            await path.ExecuteNonQueryAsync();
            await using var create = new NpgsqlCommand(statement.Replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"), connection, transaction);
            await create.ExecuteNonQueryAsync();
        }
        // Bodies are shown with names qualified as the search_path requires: read them as before.
        await using (var reset = new NpgsqlCommand("SET LOCAL search_path TO DEFAULT", connection, transaction)) await reset.ExecuteNonQueryAsync();
        var after = await FunctionsAsync(connection, transaction);
        await transaction.RollbackAsync();
        foreach (var name in before.Keys)
            Assert.That(after[name], Is.EqualTo(before[name]), $"{name} as the file states it is the function in force");
    }

    private static async Task<Dictionary<string, (string Schema, string Definition)>> FunctionsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction = null)
    {
        await using var command = new NpgsqlCommand("""
            SELECT p.proname, p.pronamespace::regnamespace::text,
                   concat_ws(E'\n', pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), l.lanname, p.provolatile, p.proparallel,
                             p.prosrc, pg_get_function_sqlbody(p.oid))
            FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.pronamespace = 'roomreconciler'::regnamespace OR (p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'session\_clock\_%')
            """, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync();
        var functions = new Dictionary<string, (string, string)>();
        while (await reader.ReadAsync()) functions.Add(reader.GetString(0), (reader.GetString(1), reader.GetString(2)));
        return functions;
    }
}
