using Npgsql;
using RoomReconciler.Hosting;

namespace RoomReconciler.Database;

/// <summary>ConnectionStrings:Postgres, the database that holds the clocks.</summary>
public sealed class PostgresOptions : IKeyedOptions
{
    public static string Section => "ConnectionStrings";
    public const string Key = "ConnectionStrings:Postgres";
    public static bool ClosedSection => false;

    public string? Postgres { get; set; }

    public IEnumerable<string> Validate()
    {
        foreach (var problem in KeyedOptionsExtensions.Required(Postgres, Key)) { yield return problem; yield break; }
        string? error = null;
        try { _ = new NpgsqlConnectionStringBuilder(Postgres); }
        catch (ArgumentException e) { error = $"{Key} is not a valid connection string: {e.Message}"; }
        if (error is not null) yield return error;
    }
}
