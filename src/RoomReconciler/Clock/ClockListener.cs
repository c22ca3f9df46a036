using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.Database;

namespace RoomReconciler.Clock;

/// <summary>
/// The process's one LISTEN connection on channel session_clock. It feeds every change into the cache and the
/// streams, and between changes samples the database's clock for <see cref="DatabaseClock"/>. When the
/// connection breaks, the cache is distrusted at once and the listener reconnects with capped backoff.
/// </summary>
public sealed class ClockListener(
    IOptions<PostgresOptions> postgres, ClockCache cache, DatabaseClock clock, ClockMetrics metrics, ILogger<ClockListener> log) : BackgroundService
{
    public const string Channel = "session_clock";
    public const string ApplicationName = "RoomReconciler clock listener";

    /// <summary>Often enough that the clock estimate stays fresh and a silent network failure is noticed within seconds.</summary>
    public static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(2);

    /// <summary>How long one blocking wait lasts: the bound on noticing that the host is stopping.</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The listener runs on its own thread, blocked in a synchronous read of its socket: a notification is applied
    /// the moment it arrives, not when the thread pool (busy serving requests) gets round to an async continuation.
    /// That keeps the window in which a committed change is not yet in memory to the notification's own latency.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(postgres.Value.Postgres)
        {
            // Its own physical connection: a pooled one would be reset (UNLISTEN) when returned.
            Pooling = false,
            ApplicationName = ApplicationName,
            Timeout = 5,
            CommandTimeout = 5,
            KeepAlive = 5,
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
                log.LogWarning("Clock listener lost the database ({Error}); serving clocks from the database until it reconnects, next try in {Retry}",
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
        Sample(sample);
        // Blocking on the listener's own thread: nothing else waits for it.
        cache.RebuildAsync(connection, stoppingToken).GetAwaiter().GetResult();
        metrics.ListenerConnecting();
        connected();
        log.LogInformation("Clock listener connected; serving clocks from memory");

        var lastSample = clock.GetTimestamp();
        while (!stoppingToken.IsCancellationRequested)
        {
            if (Interlocked.Exchange(ref resynchronise, 0) == 1)
                cache.RebuildAsync(connection, stoppingToken).GetAwaiter().GetResult();
            if (clock.ElapsedSince(lastSample) >= SampleInterval)
            {
                Sample(sample);
                lastSample = clock.GetTimestamp();
                metrics.CacheEntries(cache.Count);
            }
            else connection.Wait(WaitSlice);
        }
    }

    private void Sample(NpgsqlCommand sample)
    {
        var before = clock.GetTimestamp();
        var databaseNow = (DateTime)sample.ExecuteScalar()!;
        var after = clock.GetTimestamp();
        clock.AddSample(before, databaseNow, after);
        if (clock.Uncertainty is { } bound) metrics.DatabaseClockUncertainty(bound);
    }
}
