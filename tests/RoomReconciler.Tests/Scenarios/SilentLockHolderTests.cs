using Npgsql;
using RoomReconciler.Reconciliation;
using RoomReconciler.Tests.Support;
using static RoomReconciler.Tests.Scenarios.ScenarioHost;

namespace RoomReconciler.Tests.Scenarios;

/// <summary>
/// The worst moment for a replica's path to go silent: inside one of Quartz's transactions, holding the cluster's
/// lock row. Its backend then sits idle in that transaction and PostgreSQL would not notice the dead client for
/// hours; the other replica must still take the poll over within the documented bound.
/// </summary>
[NonParallelizable]
public sealed class SilentLockHolderTests
{
    private static readonly TimeSpan ShortGrace = TimeSpan.FromSeconds(1);

    [Test]
    public async Task AReplicaCutWhileHoldingQuartzsLock_HoldsUpTheOtherForOneCheckInAtMost()
    {
        PacketDrop.Require();
        await using var host = await ScenarioHost.CreateAsync(webhooks: false, daemonArgs: ["--Reconciler:GracePeriod=" + ShortGrace.ToString("c")]);
        await host.StartDaemonAsync();
        var session = await host.NewSessionAsync();
        host.LiveKit.Rooms.Join(Room(session), "customer");
        host.LiveKit.Rooms.Join(Room(session), "mechanic");
        await host.UntilClockAsync(session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(5), "the start");

        // The silent replica: Quartz's own lock query on the path that is about to be cut, its transaction left open.
        var checkIn = TimeSpan.FromSeconds(1); // Reconciler:PollInterval (250 ms) clamped to 1-7.5 s
        var builder = new NpgsqlConnectionStringBuilder(host.Db.ConnectionString) { Host = PacketDrop.Address, Pooling = false, CommandTimeout = 2 };
        var ghost = new NpgsqlConnection(builder.ConnectionString);
        await ghost.OpenAsync();
        var transaction = await ghost.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand(string.Format(ReconcilerRegistration.LockSql(checkIn), "roomreconciler.qrtz_"), ghost, transaction))
        {
            take.Parameters.AddWithValue("schedulerName", "RoomReconciler");
            take.Parameters.AddWithValue("lockName", "TRIGGER_ACCESS");
            await using var reader = await take.ExecuteReaderAsync();
            Assert.That(await reader.ReadAsync(), Is.True, "the lock row is held");
        }
        var ghostPid = ghost.ProcessID;

        TimeSpan pausedAfter;
        using (PacketDrop.Start(builder.Port))
        {
            // The poll stops while the lock is held (no ListRooms), and goes on once the server ends that session.
            var calls = host.LiveKit.Calls["ListRooms"];
            await Task.Delay(checkIn / 2);
            Assert.That(host.LiveKit.Calls["ListRooms"] - calls, Is.LessThanOrEqualTo(1), "the poll waits for the lock");
            await Task.Delay(checkIn);
            calls = host.LiveKit.Calls["ListRooms"];
            await Task.Delay(Poll * 4);
            Assert.That(host.LiveKit.Calls["ListRooms"] - calls, Is.GreaterThanOrEqualTo(2), "the poll goes on after one check-in interval");
            var left = DateTime.UtcNow;
            host.LiveKit.Rooms.Leave(Room(session), "customer");
            await host.UntilClockAsync(session, c => c.Paused(), ShortGrace + TimeSpan.FromSeconds(3), "the pause by the poll, past the silent lock holder");
            pausedAfter = DateTime.UtcNow - left;
        }
        try { await ghost.DisposeAsync(); }
        catch (NpgsqlException) { } // the server ended that session: its rollback has nowhere to go
        TestContext.Progress.WriteLine($"paused {pausedAfter.TotalMilliseconds:0} ms after the departure, the lock held by a silent client");
        Assert.That(pausedAfter, Is.LessThan(ShortGrace + Poll + TimeSpan.FromSeconds(1)));

        GC.KeepAlive(transaction);
        await using var alive = host.Db.DataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE pid = $1");
        alive.Parameters.AddWithValue(ghostPid);
        Assert.That(await alive.ExecuteScalarAsync(), Is.EqualTo(0L), "the server ended the silent session idle in its transaction");
    }
}
