using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartz;
using RoomReconciler.Hosting;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

public static class ReconcilerRegistration
{
    public static IServiceCollection AddReconciler(this IServiceCollection services, IConfiguration configuration, string connectionString)
    {
        var options = configuration.BindKeyedOptions<ReconcilerOptions>();
        services.AddSingleton<SessionStore>();
        services.AddMetrics().TryAddSingleton<ReconcilerMetrics>();
        services.AddTransient<IStartupCheck, RoomReconciler.Database.TrackedSessionsCheck>();
        // The RoomService client's time budget: a call, retries included, ends before the next poll begins.
        services.TryAddSingleton(provider => RoomServiceBudget.For(provider.GetRequiredService<IOptions<ReconcilerOptions>>().Value.PollInterval));
        services.AddSingleton<RoomQueue>();
        services.AddSingleton<TransitionLog>();
        // Transient: RoomServiceClient is a typed HttpClient, whose handlers the factory rotates; hold none for long.
        services.AddTransient<ClockReconciler>();
        services.AddTransient<IRoomReconciler, ClockReconciler>();
        services.AddTransient<ILiveKitRooms, LiveKitRooms>();
        services.AddSingleton<IRoomEventHandler, WebhookReconcileHandler>();
        services.AddHostedService<RoomWorker>();

        services.AddQuartz(q =>
        {
            UseClusteredStore(q, connectionString, options.PollInterval);
            q.AddJob<PollJob>(j => j.WithIdentity(PollJob.Key).StoreDurably());
            q.AddTrigger<PollJob>(t => t
                .ForJob(PollJob.Key)
                .WithIdentity("reconcile-every-poll-interval", PollJob.Key.Group)
                .StartNow()
                .WithSimpleSchedule(s => s.WithInterval(options.PollInterval).RepeatForever()
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount)));
        });
        // A replica that starts declares the trigger again, replacing the stored one. Quartz fires an acquired trigger
        // whenever its row is in the acquired state, whoever acquired it, so a replacement made while another replica
        // held the next firing left two cadences, one per replica, each firing when the other had acquired: two ticks a
        // poll interval for as long as both ran. Taking over the replaced trigger's last firing keeps the one cadence.
        services.Configure<QuartzOptions>(o => o.Scheduling.ScheduleTriggerRelativeToReplacedTrigger = true);
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return services;
    }

    /// <summary>
    /// Creates Quartz's roomreconciler.qrtz_* tables if they are missing, for `migrate`: replicas that start together then find
    /// them made instead of racing to create them.
    /// </summary>
    public static async Task ProvisionQuartzSchemaAsync(string connectionString, CancellationToken ct)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddQuartz(q => UseClusteredStore(q, connectionString, new ReconcilerOptions().PollInterval));
        await using var provider = services.BuildServiceProvider();
        var scheduler = await provider.GetRequiredService<ISchedulerFactory>().GetScheduler(ct);
        await scheduler.Shutdown(false, ct);
    }

    /// <summary>Quartz's PostgreSQL lock query ({0} is the table prefix), plus the idle-in-transaction bound.</summary>
    public static string LockSql(TimeSpan idleInTransaction) =>
        "SELECT *, set_config('idle_in_transaction_session_timeout', '" + (long)idleInTransaction.TotalMilliseconds +
        "ms', true) FROM {0}LOCKS WHERE SCHED_NAME = @schedulerName AND LOCK_NAME = @lockName FOR UPDATE";

    private static void UseClusteredStore(IQuartzBuilder q, string connectionString, TimeSpan pollInterval)
    {
        // A replica that dies is noticed after CheckinMisfireThreshold; together with one poll interval that keeps
        // the takeover within two ticks. Quartz's own default (7.5 s) suits the default 10 s poll.
        var checkin = TimeSpan.FromMilliseconds(Math.Clamp(pollInterval.TotalMilliseconds, 1_000, 7_500));
        q.ConfigureScheduler(s =>
        {
            s.InstanceName = "RoomReconciler";
            s.GenerateInstanceId = true;
        });
        q.UsePersistentStore(store =>
        {
            // Quartz creates its qrtz_* tables when they are missing, in the shape its own version expects;
            // `migrate` triggers this too (Cli), so that replicas starting together find them made.
            store.ProvisionSchema();
            store.ConfigureStore(ado =>
            {
                // Schema-qualified: Quartz's tables are internal (docs/contract.md, "Schemas and privileges").
                ado.TablePrefix = RoomReconciler.Database.Migrator.Schema + ".qrtz_";
                // A tick later than one poll interval is a misfire: it runs once, at once, never as a burst of the missed ones.
                ado.MisfireThreshold = pollInterval;
                // After a database outage, try again within a check-in interval, not Quartz's default 15 s.
                ado.DbRetryInterval = checkin;
                // A replica whose path went silent inside one of Quartz's transactions leaves its backend idle in
                // that transaction, holding the lock row (and any trigger rows) that every other replica then waits
                // on; PostgreSQL only notices the dead client hours later. So every transaction that writes starts
                // with the lock (also the acquiring one), and the lock's query makes the server end such a session
                // after one check-in interval idle (transaction-local: nothing else on the connection changes).
                ado.AcquireTriggersWithinLock = true;
                ado.SelectWithLockSql = LockSql(checkin);
            });
            store.UsePostgres(pg =>
            {
                // Keepalive: a connection that a firewall silently dropped must not hang the cluster check-in.
                var builder = new NpgsqlConnectionStringBuilder(connectionString)
                {
                    KeepAlive = 30,
                    ApplicationName = "RoomReconciler/quartz",
                };
                pg.ConnectionString = builder.ConnectionString;
            });
            store.UseClustering(c =>
            {
                c.CheckinInterval = checkin;
                c.CheckinMisfireThreshold = checkin;
            });
        });
    }
}
