using Npgsql;
using RoomReconciler.Hosting;

namespace RoomReconciler.Database;

/// <summary>`check` reports what the clock tracks; it fails only when the database cannot say.</summary>
public sealed class TrackedSessionsCheck(NpgsqlDataSource dataSource) : IStartupCheck
{
    public string Name => "tracked sessions";

    public StartupNote? Note { get; private set; }

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            Note = new StartupNote((await new TrackedSessions(dataSource).CountAsync(cancellationToken)).ToString(), Warning: false);
            return null;
        }
        catch (Exception e) when (DatabaseFailure.IsUnavailable(e))
        {
            return $"cannot count tracked sessions: {e.Message}";
        }
    }
}
