namespace RoomReconciler.Hosting;

/// <summary>What /readyz answers: the daemon's database check, or, before the database answered, why not yet.</summary>
public interface IReadiness
{
    /// <returns>null when ready, else what is wrong in one line</returns>
    Task<string?> CheckAsync();
}
