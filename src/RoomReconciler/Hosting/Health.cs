using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Database;

namespace RoomReconciler.Hosting;

/// <summary>/healthz (the process serves) and /readyz (PostgreSQL reachable, migrations current), for probes.</summary>
public static class Health
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddSingleton<IReadiness, Readiness>();
        return services;
    }

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        // Liveness never touches the database: an outage there must not get the process restarted.
        app.MapGet("/healthz", () => TypedResults.Text("ok\n")).WithTags("Health").WithSummary("Liveness: the process is serving");
        app.MapGet("/readyz", GetReadiness).WithTags("Health").WithSummary("Readiness: PostgreSQL reachable, migrations applied, the clock listener vouching")
            .Produces<string>(StatusCodes.Status503ServiceUnavailable, "text/plain");
        return app;
    }

    public static async Task<ContentHttpResult> GetReadiness(IReadiness readiness, HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        var problem = await readiness.CheckAsync();
        return problem is null
            ? TypedResults.Text("ready\n")
            : TypedResults.Text($"not ready: {problem}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}

/// <summary>
/// The database check behind /readyz, run at most once per <see cref="CacheFor"/>: probes from every kubelet and
/// load balancer then share one check instead of each opening a connection and reading the changelog. Ready also
/// needs the clock listener to vouch for the clocks.
/// </summary>
public sealed class Readiness(IOptions<PostgresOptions> postgres, TimeProvider time, ClockCache clocks) : IReadiness
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private Task<string?>? _check;
    private long _checkedAt;

    /// <returns>null when ready, else what is wrong in one line</returns>
    public async Task<string?> CheckAsync()
    {
        // Never waited on for long: the path to PostgreSQL may be the one that went silent. Without the listener's
        // vouching, a quarter of that, just enough for a reachable database to say what else is wrong with it.
        var check = DatabaseCheck();
        var wait = clocks.IsTrusted ? ClockCache.DatabaseWait : ClockCache.DatabaseWait / 4;
        var answered = await Task.WhenAny(check, Task.Delay(wait)) == check;
        if (answered && await check is { } problem) return problem;
        // Not vouching for clocks is reason enough to leave the Service at once.
        if (!clocks.IsTrusted) return "the clock listener has no answer from PostgreSQL; not vouching for clocks";
        return answered ? null : $"the database check takes longer than {ClockCache.DatabaseWait.TotalSeconds:0.#} s";
    }

    private Task<string?> DatabaseCheck()
    {
        lock (_gate)
        {
            var running = _check is { IsCompleted: false };
            if (_check is null || (!running && time.GetElapsedTime(_checkedAt) > CacheFor))
            {
                _checkedAt = time.GetTimestamp();
                _check = ReadyAsync();
            }
            return _check;
        }
    }

    /// <summary>
    /// A check that started on a path that then went silent fails within seconds, so that a check begun after the
    /// path healed can tell so (a check in progress is shared, not repeated).
    /// </summary>
    private string BoundedConnection => new NpgsqlConnectionStringBuilder(postgres.Value.Postgres!)
    {
        Timeout = 2, CommandTimeout = 2, CancellationTimeout = -1,
    }.ConnectionString;

    // One query: reachable, and no script pending. Checksums are `check`'s and `migrate`'s business.
    private async Task<string?> ReadyAsync()
    {
        try
        {
            var pending = await new Migrator(BoundedConnection).GetPendingAsync(CancellationToken.None);
            return pending.Count == 0 ? null : MigrationStatus.Behind(pending);
        }
        catch (Exception e) when (DatabaseFailure.IsUnavailable(e) || e is MigrationException)
        {
            return $"cannot use {DatabaseTarget.Describe(postgres.Value.Postgres!)}: {DatabaseFailure.Reason(e)}";
        }
    }
}
