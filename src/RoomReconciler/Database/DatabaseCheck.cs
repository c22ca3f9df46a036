using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.Hosting;

namespace RoomReconciler.Database;

/// <summary>PostgreSQL reachable, and its migrations current.</summary>
public sealed class DatabaseCheck(NpgsqlDataSource dataSource, IOptions<PostgresOptions> postgres) : IStartupCheck
{
    public string Name => "PostgreSQL and migrations";

    public async Task<StartupCheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            var status = new Migrator(postgres.Value.Postgres!).GetStatus();
            return status.IsCurrent ? StartupCheckResult.Passed() : StartupCheckResult.Failed(status.Describe());
        }
        catch (Exception e) when (DatabaseFailure.IsUnavailable(e) || e is MigrationException)
        {
            return StartupCheckResult.Failed($"cannot use {DatabaseTarget.Describe(postgres.Value.Postgres!)}: {DatabaseFailure.Reason(e)}");
        }
    }
}
