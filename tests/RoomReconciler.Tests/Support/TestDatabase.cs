using Npgsql;
using RoomReconciler.Database;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests
{
    /// <summary>
    /// Starts the suite's database before the first test and stops it after the last. It sits in the root
    /// test namespace because NUnit runs a SetUpFixture for the tests of its own namespace and below.
    /// </summary>
    [SetUpFixture]
    public sealed class Suite
    {
        [OneTimeSetUp]
        public Task StartAsync() => TestDatabase.StartAsync();

        [OneTimeTearDown]
        public Task StopAsync() => TestDatabase.StopAsync();
    }
}

namespace RoomReconciler.Tests.Support
{
    /// <summary>
    /// The suite's PostgreSQL: its own throwaway cluster, or the server named by ROOMRECONCILER_TEST_POSTGRES
    /// (a connection string whose user may create databases). A migrated template database makes each
    /// test database a cheap copy.
    /// </summary>
    public static class TestDatabase
    {
        public const string EnvironmentVariable = "ROOMRECONCILER_TEST_POSTGRES";
        private const string Template = "roomreconciler_template";

        private static string? _adminConnectionString;
        private static int _counter;

        /// <summary>The throwaway cluster, for tests that stop and restart the server; null when an external server is used.</summary>
        public static PostgresCluster? Cluster { get; private set; }

        public static string AdminConnectionString =>
            _adminConnectionString ?? throw new InvalidOperationException("TestDatabase has not started");

        /// <summary>The repository's db/migrations folder as copied beside the daemon.</summary>
        public static string MigrationsFolder => Path.Combine(AppContext.BaseDirectory, "db", "migrations");

        public static async Task StartAsync()
        {
            var external = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (string.IsNullOrWhiteSpace(external))
            {
                Cluster = await PostgresCluster.StartAsync();
                _adminConnectionString = Cluster.ConnectionString();
            }
            else _adminConnectionString = external;

            await ExecuteAsync(AdminConnectionString, $"DROP DATABASE IF EXISTS {Template}");
            var template = await CreateAsync(null, Template);
            new Migrator(template, MigrationsFolder).Migrate();
            await RoomReconciler.Reconciliation.ReconcilerRegistration.ProvisionQuartzSchemaAsync(template, CancellationToken.None);
            NpgsqlConnection.ClearAllPools(); // a template must have no open connections when it is copied
        }

        public static async Task StopAsync()
        {
            if (Cluster is not null) await Cluster.DisposeAsync();
            Cluster = null;
        }

        /// <summary>A new database with every migration applied.</summary>
        public static Task<string> CreateMigratedAsync() => CreateAsync(Template);

        /// <summary>A new empty database, for migration tests.</summary>
        public static Task<string> CreateEmptyAsync() => CreateAsync(null);

        private static async Task<string> CreateAsync(string? template, string? name = null)
        {
            name ??= $"t{Interlocked.Increment(ref _counter)}_{Guid.NewGuid():N}";
            await ExecuteAsync(AdminConnectionString,
                $"CREATE DATABASE \"{name}\"" + (template is null ? "" : $" TEMPLATE \"{template}\""));
            return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
        }

        public static Task ExecuteAsync(string connectionString, string sql) => PostgresCluster.ExecuteAsync(connectionString, sql);
    }
}
