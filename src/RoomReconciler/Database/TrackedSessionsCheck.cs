using Npgsql;
using RoomReconciler.Hosting;

namespace RoomReconciler.Database;

/// <summary>`check` reports what the clock tracks; it fails only when the database cannot say.</summary>
public sealed class TrackedSessionsCheck(NpgsqlDataSource dataSource) : IStartupCheck
{
    public string Name => "tracked sessions";

    public async Task<StartupCheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            return StartupCheckResult.Passed((await new TrackedSessions(dataSource).CountAsync(cancellationToken)).ToString());
        }
        catch (Exception e) when (DatabaseFailure.IsUnavailable(e))
        {
            return StartupCheckResult.Failed($"cannot count tracked sessions: {e.Message}");
        }
    }
}
