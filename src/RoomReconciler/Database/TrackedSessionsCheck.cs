using Npgsql;
using RoomReconciler.Hosting;

namespace RoomReconciler.Database;

/// <summary>`check` reports what the clock tracks; it fails only when the database cannot say.</summary>
public sealed class TrackedSessionsCheck(NpgsqlDataSource dataSource) : IStartupCheck
{
    // The line `check` prints is the name, read after the check ran: it carries the counts.
    public string Name { get; private set; } = "tracked sessions";

    public async Task<string?> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            Name = $"tracked sessions: {await new TrackedSessions(dataSource).CountAsync(cancellationToken)}";
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return $"cannot count tracked sessions: {e.Message}";
        }
    }
}
