using RoomReconciler.Database;

namespace RoomReconciler.Hosting;

/// <summary>What the operator's database commands (`sessions`, `events`) share: their exit codes and error lines.</summary>
public static class OperatorCommand
{
    /// <returns>the command's own code; 1 when the database cannot be used, said in one line</returns>
    public static async Task<int> RunAsync(string name, Func<Task<int>> run, TextWriter error)
    {
        try { return await run(); }
        catch (Exception e) when (DatabaseFailure.IsUnavailable(e))
        {
            error.WriteLine($"{name}: cannot use the database: {e.Message}");
            return 1;
        }
    }

    /// <returns>2, bad usage, having said what is wrong and printed the usage</returns>
    public static int UsageError(string name, string usage, TextWriter error, string problem)
    {
        error.WriteLine($"{name}: {problem}");
        error.WriteLine(usage);
        return 2;
    }
}
