using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace RoomReconciler.Clock;

/// <summary>The read-only clock API: a snapshot and a stream of snapshots per session (design.md, "HTTP API").</summary>
public static class ClockApi
{
    public static IServiceCollection AddClockApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics().TryAddSingleton<ClockMetrics>();
        services.AddSingleton<DatabaseClock>();
        services.AddSingleton<ClockStreams>();
        services.AddSingleton<ClockCache>();
        services.AddSingleton<ClockAccess>();
        services.AddHostedService<ClockListener>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ClockJsonContext.Default));
        return services;
    }

    public static RouteGroupBuilder MapClockApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/clock").WithTags("Clock");
        var metrics = app.ServiceProvider.GetRequiredService<ClockMetrics>();
        api.MapGet("/{sessionId}", GetClock)
            .WithName("GetClock")
            .WithSummary("The session's clock snapshot")
            .WithDescription("Times are the database's, ISO-8601 UTC with milliseconds. Authenticate with the LiveKit join token for the session's room (Authorization: Bearer, or ?access_token=).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AddEndpointFilter(new ClockRequestFilter("snapshot", metrics));
        api.MapGet("/{sessionId}/stream", StreamClock)
            .WithName("StreamClock")
            .WithSummary("Server-Sent Events: `event: clock` with the snapshot on connect and after every change; a comment heartbeat every 15 s")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .AddEndpointFilter(new ClockRequestFilter("stream", metrics));
        return api;
    }

    public static async ValueTask<Results<Ok<ClockSnapshot>, NotFound<ProblemDetails>, ProblemHttpResult>>
        GetClock(string sessionId, HttpRequest request, ClockAccess access, ClockCache clocks)
    {
        if (Admit(sessionId, request, access, out var id) is { } refused) return refused;
        try
        {
            var (entry, now) = await clocks.GetAsync(id);
            return entry.State is { } state ? TypedResults.Ok(state.ToSnapshot(now)) : UnknownSession();
        }
        catch (ClockUnavailableException)
        {
            return Unavailable();
        }
    }

    public static async Task<Results<ClockStreamResult, NotFound<ProblemDetails>, ProblemHttpResult>>
        StreamClock(string sessionId, HttpRequest request, ClockAccess access, ClockCache clocks, ClockStreams streams, DatabaseClock clock)
    {
        if (Admit(sessionId, request, access, out var id) is { } refused) return refused;
        // Subscribe before reading, so that no change can fall between the read and the subscription.
        var subscriber = streams.Subscribe(id);
        try
        {
            var (entry, _) = await clocks.GetAsync(id);
            subscriber.Offer(entry);
            if (entry.State is null)
            {
                streams.Unsubscribe(subscriber);
                return UnknownSession();
            }
            return new ClockStreamResult(subscriber, streams, clocks, clock);
        }
        catch (ClockUnavailableException)
        {
            streams.Unsubscribe(subscriber);
            return Unavailable();
        }
    }

    /// <summary>
    /// The refusals common to both routes, as problem details, in this order: 401 (no valid token; says nothing
    /// about the session), 400 (malformed id), 403 (a valid token for another room).
    /// </summary>
    /// <summary>
    /// <see cref="ClockAccess"/>'s verdict as problem answers, for every route of a session: 401 (no valid token; says
    /// nothing about the session), then 400 (malformed id), then 403 (a valid token for another room); null to go on.
    /// </summary>
    internal static ProblemHttpResult? Admit(string sessionId, HttpRequest request, ClockAccess access, out Guid sessionGuid)
    {
        var id = ParseId(sessionId);
        sessionGuid = id ?? Guid.Empty;
        switch (access.Check(ClockAccess.TokenOf(request), id, out var reason))
        {
            case ClockAccessVerdict.Unauthenticated:
                request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "A LiveKit join token is required", detail: reason);
            case ClockAccessVerdict.Forbidden:
                return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: reason);
        }
        return id is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed session id",
                detail: "the session id must be a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301")
            : null;
    }

    /// <summary>Only the canonical 36-character form: a room name is built from it, so there is one spelling per session.</summary>
    private static Guid? ParseId(string sessionId) => Guid.TryParseExact(sessionId, "D", out var id) ? id : null;

    private static NotFound<ProblemDetails> UnknownSession() =>
        TypedResults.NotFound(new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Unknown session" });

    private static ProblemHttpResult Unavailable() =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The clock database is unavailable");

    /// <summary>Every clock answer is <c>Cache-Control: no-store</c> (a cached clock is a wrong clock), and is counted by status.</summary>
    private sealed class ClockRequestFilter(string endpoint, ClockMetrics metrics) : IEndpointFilter
    {
        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            using var activity = ClockTracing.Source.StartActivity($"clock {endpoint}");
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            var result = await next(context);
            var inner = result;
            while (inner is INestedHttpResult nested) inner = nested.Result;
            var status = (inner as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
            metrics.Answered(endpoint, status);
            return result;
        }
    }
}
