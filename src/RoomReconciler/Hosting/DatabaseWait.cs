using RoomReconciler.Database;
using Serilog;

namespace RoomReconciler.Hosting;

/// <summary>
/// `run` started before its database (the usual order under Kubernetes, Compose or systemd): until PostgreSQL answers,
/// a bare host serves /healthz (live) and /readyz (503) on the daemon's own addresses and one warning line is logged per
/// try, with no stack trace. Once it answers, the bare host stops and the caller starts the daemon, which is ready
/// within a second; a database that answers with migrations pending is then refused, as at any start.
/// </summary>
public static class DatabaseWait
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    /// <returns>the pending migrations once the database answers; null when the process was told to stop first</returns>
    public static async Task<IReadOnlyList<string>?> UntilReachableAsync(string[] args, string connectionString)
    {
        var migrator = new Migrator(connectionString);
        var target = DatabaseTarget.Describe(connectionString);
        string problem;
        try
        {
            return await migrator.GetPendingAsync(CancellationToken.None);
        }
        catch (Exception e) when (DatabaseFailure.IsUnavailable(e))
        {
            problem = DatabaseFailure.Reason(e);
        }

        var waiting = new WaitingForDatabase(target, problem);
        var app = BuildBareHost(args, waiting);
        await app.StartAsync();
        var log = app.Services.GetRequiredService<ILogger<WaitingForDatabase>>();
        var stopping = app.Lifetime.ApplicationStopping;
        try
        {
            for (var delay = TimeSpan.FromMilliseconds(500); ; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks)))
            {
                log.LogWarning("{Database} is not available ({Reason}); serving not ready, next try in {Delay:0.#} s",
                    target, waiting.Problem, delay.TotalSeconds);
                await Task.Delay(delay, stopping);
                try
                {
                    var pending = await migrator.GetPendingAsync(stopping);
                    log.LogInformation("{Database} is available", target);
                    return pending;
                }
                catch (Exception e) when (DatabaseFailure.IsUnavailable(e))
                {
                    waiting.Problem = DatabaseFailure.Reason(e);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return null;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static WebApplication BuildBareHost(string[] args, WaitingForDatabase waiting)
    {
        var builder = DaemonHost.CreateBuilder(args);
        var configuration = builder.Configuration;
        builder.Services.AddSerilog((services, logger) => Logging.Configure(logger, configuration, services));
        builder.Services.AddSingleton<IReadiness>(waiting);
        builder.AddManagementPort();
        var app = builder.Build();
        app.MapManagementEndpoints();
        return app;
    }
}

/// <summary>Readiness while the database has not answered yet: never ready, saying why.</summary>
public sealed class WaitingForDatabase(string target, string problem) : IReadiness
{
    public string Problem { get; set; } = problem;

    public Task<string?> CheckAsync() => Task.FromResult<string?>($"waiting for {target}: {Problem}");
}
