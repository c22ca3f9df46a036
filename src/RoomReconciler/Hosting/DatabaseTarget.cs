using System.Net.Sockets;
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

    /// <summary>Whether the exception says the database cannot be used now, which a later try may change.</summary>
    public static bool IsUnavailable(Exception e) => e is NpgsqlException or TimeoutException or SocketException;

    /// <summary>The reason in one line: Npgsql's own message, with the socket error that explains it ("Connection refused").</summary>
    public static string Reason(Exception e) =>
        e.InnerException is SocketException or TimeoutException ? $"{e.Message}: {e.InnerException.Message}" : e.Message;
}
