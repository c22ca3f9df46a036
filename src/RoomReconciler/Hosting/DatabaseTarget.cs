using Npgsql;

namespace RoomReconciler.Hosting;

/// <summary>How log lines and errors name the database: host, port and database, never the user or the password.</summary>
public static class DatabaseTarget
{
    public static string Describe(string connectionString)
    {
        var c = new NpgsqlConnectionStringBuilder(connectionString);
        return $"PostgreSQL at {c.Host}:{c.Port}/{c.Database ?? c.Username}";
    }
}
