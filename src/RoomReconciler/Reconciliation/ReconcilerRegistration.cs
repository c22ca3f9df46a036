using Npgsql;
using Quartz;

namespace RoomReconciler.Reconciliation;

public static class ReconcilerRegistration
{
    public static IServiceCollection AddReconciler(this IServiceCollection services, IConfiguration configuration, string connectionString)
    {
        var options = configuration.GetSection(ReconcilerOptions.Section).Get<ReconcilerOptions>() ?? new ReconcilerOptions();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<RoomReconcileQueue>();
        services.AddSingleton<Reconciler>();
        services.AddHostedService<RoomReconcileWorker>();

        // A replica that dies is noticed after CheckinMisfireThreshold; together with one poll interval that keeps
        // the takeover within two ticks. Quartz's own default (7.5 s) suits the default 10 s poll.
        var checkin = TimeSpan.FromMilliseconds(Math.Clamp(options.PollInterval.TotalMilliseconds, 1_000, 7_500));
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(s =>
            {
                s.InstanceName = "RoomReconciler";
                s.GenerateInstanceId = true;
            });
            q.UsePersistentStore(store =>
            {
                store.ConfigureStore(ado =>
                {
                    ado.TablePrefix = "qrtz_";
                    // A tick later than one poll interval is a misfire: it runs once, at once, never as a burst of the missed ones.
                    ado.MisfireThreshold = options.PollInterval;
                });
                store.UsePostgres(pg =>
                {
                    // Keepalive: a connection that a firewall silently dropped must not hang the cluster check-in.
                    pg.ConnectionString = new NpgsqlConnectionStringBuilder(connectionString)
                        { KeepAlive = 30, ApplicationName = "RoomReconciler/quartz" }.ConnectionString;
                });
                store.UseClustering(c =>
                {
                    c.CheckinInterval = checkin;
                    c.CheckinMisfireThreshold = checkin;
                });
            });
            q.AddJob<ReconcileJob>(j => j.WithIdentity(ReconcileJob.Key).StoreDurably());
            q.AddTrigger<ReconcileJob>(t => t
                .ForJob(ReconcileJob.Key)
                .WithIdentity("reconcile-every-poll-interval", ReconcileJob.Key.Group)
                .StartNow()
                .WithSimpleSchedule(s => s.WithInterval(options.PollInterval).RepeatForever()
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount)));
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return services;
    }
}
