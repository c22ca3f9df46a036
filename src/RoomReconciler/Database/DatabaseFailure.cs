using System.Net.Sockets;
using Npgsql;

namespace RoomReconciler.Database;

/// <summary>
/// The one test for "the database cannot be used now, and a later try may change that": what answers 503, what
/// waits for its next interval, and what says "cannot use the database" in one line all ask <see cref="IsUnavailable"/>.
/// </summary>
public static class DatabaseFailure
{
    /// <summary>
    /// Any Npgsql error, the server's own (<see cref="PostgresException"/>) included: a server that refuses, is starting
    /// or lacks an object is no more usable to the caller than one that is down. A timeout, Npgsql's or a caller's own
    /// bound. A socket or stream failure that reached the caller unwrapped.
    /// </summary>
    public static bool IsUnavailable(Exception e) => e is NpgsqlException or TimeoutException or SocketException or IOException;

    /// <summary>The reason in one line: Npgsql's own message, with the socket error that explains it ("Connection refused").</summary>
    public static string Reason(Exception e) =>
        e.InnerException is SocketException or TimeoutException ? $"{e.Message}: {e.InnerException.Message}" : e.Message;
}
