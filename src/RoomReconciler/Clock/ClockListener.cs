using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.Database;

namespace RoomReconciler.Clock;

/// <summary>
/// The process's one LISTEN connection on channel session_clock. It feeds every change into the cache and the
/// streams, and between changes probes the connection with a sample of the database's clock for
/// <see cref="DatabaseClock"/>; each answer vouches for the cache (<see cref="ClockCache.Vouch"/>). When the
/// connection breaks or goes silent, the cache is distrusted at once and the listener reconnects with capped backoff.
/// </summary>
public sealed class ClockListener(
    IOptions<PostgresOptions> postgres, ClockCache cache, DatabaseClock clock, ClockMetrics metrics, TimeProvider time,
    ILogger<ClockListener> log) : BackgroundService
{
    public const string Channel = "session_clock";
    public const string ApplicationName = "RoomReconciler clock listener";

    /// <summary>
    /// How often the probe runs: a silent path is noticed within <see cref="ClockCache.VouchFor"/> (three of these),
    /// and the clock estimate stays fresh. One tiny query per replica, whatever the load.
    /// </summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the watchdog looks whether the probe still vouches: the lag of telling the streams.</summary>
    private static readonly TimeSpan WatchInterval = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);

    /// <summary>With jitter at most 1.5 s between attempts, so a healed path is used again within seconds.</summary>
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(1);

    /// <summary>How long one blocking wait lasts: the bound on noticing that the host is stopping.</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The listener runs on its own thread, blocked in a synchronous read of its socket: a notification is applied
    /// the moment it arrives, not when the thread pool (busy serving requests) gets round to an async continuation.
    /// That keeps the window in which a committed change is not yet in memory to the notification's own latency.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The watchdog runs apart from the listener's thread, which may be blocked on the very socket that went silent.
        await using var watchdog = time.CreateTimer(_ => cache.CheckVouch(), null, WatchInterval, WatchInterval);
        await Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(postgres.Value.Postgres)
        {
            // Its own physical connection: a pooled one would be reset (UNLISTEN) when returned.
            Pooling = false,
            ApplicationName = ApplicationName,
            // A silent path fails the probe after a second and a connection attempt after two (SYN retries at 0 and
            // 1 s), and no cancel request is sent down the silent path first: README.md, "When the database goes silent".
            Timeout = 2,
            CommandTimeout = 1,
            CancellationTimeout = -1,
        }.ConnectionString;
        var retry = FirstRetry;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Listen(connectionString, () => retry = FirstRetry, stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("Clock listener lost the database ({Error}); not vouching for clocks until it reconnects (reads go to the database, 503 if it does not answer), next try in {Retry}",
                    e.Message, retry);
            }
            catch (Exception)
            {
                break; // stopping
            }
            finally
            {
                cache.Distrust();
            }
            stoppingToken.WaitHandle.WaitOne(retry * Random.Shared.NextDouble() + retry / 2);
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
        }
    }

    private void Listen(string connectionString, Action connected, CancellationToken stoppingToken)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        var resynchronise = 0;
        connection.Notification += (_, e) =>
        {
            if (!cache.Apply(e.Payload)) Volatile.Write(ref resynchronise, 1);
        };
        using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection)) listen.ExecuteNonQuery();

        using var sample = new NpgsqlCommand("SELECT clock_timestamp()", connection);
        clock.Clear();
        Probe(sample);
        Rebuild(connection, sample, stoppingToken);
        metrics.ListenerConnecting();
        connected();
        log.LogInformation("Clock listener connected; serving clocks from memory");

        var lastProbe = clock.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            // Also after the watchdog dropped the map for a probe that came back late on a connection that survived.
            if (Interlocked.Exchange(ref resynchronise, 0) == 1 || cache.NeedsRebuild)
            {
                Probe(sample);
                Rebuild(connection, sample, stoppingToken);
                lastProbe = clock.GetTimestamp();
            }
            if (clock.ElapsedSince(lastProbe) >= ProbeInterval)
            {
                lastProbe = clock.GetTimestamp();
                Probe(sample);
                metrics.CacheEntries(cache.Count);
            }
            else connection.Wait(WaitSlice);
        }
    }

    /// <summary>
    /// A new map from reads on this connection, right after a probe answered on it, and probed again at once so that
    /// the map is vouched for however long the reads took. Blocking on the listener's own thread: nothing else waits for it.
    /// </summary>
    private void Rebuild(NpgsqlConnection connection, NpgsqlCommand sample, CancellationToken stoppingToken)
    {
        cache.RebuildAsync(connection, stoppingToken).GetAwaiter().GetResult();
        Probe(sample);
    }

    /// <summary>One round trip on the listener's connection: a clock sample, and the proof that the connection is alive.</summary>
    private void Probe(NpgsqlCommand sample)
    {
        var before = clock.GetTimestamp();
        var databaseNow = (DateTime)sample.ExecuteScalar()!;
        var after = clock.GetTimestamp();
        // From when it was sent: every notification committed before the server read the probe came before its answer.
        cache.Vouch(before);
        clock.AddSample(before, databaseNow, after);
        if (clock.Uncertainty is { } bound) metrics.DatabaseClockUncertainty(bound);
    }
}
