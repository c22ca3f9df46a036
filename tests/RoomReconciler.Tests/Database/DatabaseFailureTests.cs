using System.Net.Sockets;
using Npgsql;
using RoomReconciler.Database;

namespace RoomReconciler.Tests.Database;

/// <summary>The one test for "the database cannot be used now", as every caller asks it.</summary>
public sealed class DatabaseFailureTests
{
    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new NpgsqlException("Exception while reading from stream", new IOException("EOF")), true).SetName("Unavailable_NpgsqlError");
        yield return new TestCaseData(new PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03"), true).SetName("Unavailable_ServerRefusal");
        yield return new TestCaseData(new PostgresException("relation \"sessions\" does not exist", "ERROR", "ERROR", "42P01"), true).SetName("Unavailable_MissingObject");
        yield return new TestCaseData(new TimeoutException("the bound passed"), true).SetName("Unavailable_Timeout");
        yield return new TestCaseData(new SocketException((int)SocketError.ConnectionRefused), true).SetName("Unavailable_SocketUnwrapped");
        yield return new TestCaseData(new IOException("broken pipe"), true).SetName("Unavailable_StreamUnwrapped");
        yield return new TestCaseData(new MigrationException("checksum mismatch"), false).SetName("Available_MigrationProblem");
        yield return new TestCaseData(new InvalidOperationException("not a database problem"), false).SetName("Available_InvalidOperation");
        yield return new TestCaseData(new OperationCanceledException(), false).SetName("Available_Cancelled");
        yield return new TestCaseData(new TaskCanceledException(), false).SetName("Available_TaskCancelled");
        yield return new TestCaseData(new HttpRequestException("LiveKit is away"), false).SetName("Available_HttpFailure");
        yield return new TestCaseData(new InvalidCastException("an unreadable row"), false).SetName("Available_UnreadableRow");
        yield return new TestCaseData(new AggregateException(new NpgsqlException("inside")), false).SetName("Available_WrappedElsewhere");
    }

    [TestCaseSource(nameof(Cases))]
    public void IsUnavailable(Exception e, bool unavailable) =>
        Assert.That(DatabaseFailure.IsUnavailable(e), Is.EqualTo(unavailable));

    [Test]
    public void Reason_NamesTheSocketErrorBehindNpgsqlsMessage()
    {
        var refused = new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));
        Assert.That(DatabaseFailure.Reason(refused), Is.EqualTo("Failed to connect to 127.0.0.1:5432: Connection refused"));
        Assert.That(DatabaseFailure.Reason(new TimeoutException("the bound passed")), Is.EqualTo("the bound passed"));
    }
}
