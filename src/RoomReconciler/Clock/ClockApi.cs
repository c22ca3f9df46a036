using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using RoomReconciler.Hosting;
using RoomReconciler.Http;

namespace RoomReconciler.Clock;

/// <summary>The read-only clock API: a snapshot and a stream of snapshots per session (docs/contract.md, "The HTTP API").</summary>
public static class ClockApi
{
    /// <summary>
    /// The Retry-After of a 503: by then another replica (through the load balancer) or this one, reconnected, answers.
    /// A whole second, as the header counts in seconds.
    /// </summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    public static IServiceCollection AddClockApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddKeyedOptions<ClockApiOptions>(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics().TryAddSingleton<ClockMetrics>();
        services.AddSingleton<DatabaseClock>();
        services.AddSingleton<ClockStreamLimits>();
        services.AddSingleton<ClockStreams>();
        services.AddSingleton<ClockCache>();
        services.AddSessionAccess();
        services.AddHostedService<ClockListener>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ClockJsonContext.Default));
        return services;
    }

    public static RouteGroupBuilder MapClockApi(this IEndpointRouteBuilder app)
    {
        var metrics = app.ServiceProvider.GetRequiredService<ClockMetrics>();
        var api = app.MapGroup("/clock").WithTags("Clock")
            .RequireSessionAccess()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // The request filter first, so that the 400 of a malformed id is no-store and counted too.
        api.MapGet("/{sessionId}", GetClock)
            .AddAnswerFilter(new ClockRequestFilter("snapshot", metrics))
            .RequireSessionId()
            .WithName("GetClock")
            .WithSummary("The session's clock snapshot")
            .WithDescription("Times are the database's, ISO-8601 UTC with milliseconds. Authenticate with the LiveKit join token for the session's room (Authorization: Bearer, or ?access_token=).");
        api.MapGet("/{sessionId}/stream", StreamClock)
            .AddAnswerFilter(new ClockRequestFilter("stream", metrics))
            .RequireSessionId()
            .WithName("StreamClock")
            .WithSummary("Server-Sent Events: `event: clock` with the snapshot on connect and after every change; a comment heartbeat every 15 s")
            .WithDescription("At most ClockApi:MaxStreamsPerToken open streams per join token and ClockApi:MaxStreams in all; past either, 429 with Retry-After.")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return api;
    }

    public static async ValueTask<Results<Ok<ClockSnapshot>, ProblemHttpResult>> GetClock(string sessionId, ClockCache clocks)
    {
        try
        {
            var (entry, now) = await clocks.GetAsync(SessionRoute.AdmittedId(sessionId));
            return entry.State is { } state ? TypedResults.Ok(state.ToSnapshot(now)) : Problems.UnknownSession();
        }
        catch (ClockUnavailableException)
        {
            return Problems.DatabaseUnavailable();
        }
    }

    public static async Task<Results<ClockStreamResult, ProblemHttpResult>>
        StreamClock(string sessionId, HttpRequest request, ClockCache clocks, ClockStreams streams, DatabaseClock clock)
    {
        // Subscribe before reading, so that no change can fall between the read and the subscription.
        if (streams.TrySubscribe(SessionRoute.AdmittedId(sessionId), JoinTokenAuthentication.TokenOf(request), out var refused) is not { } subscriber)
            return TooManyStreams(refused);
        // A stream is fed from memory alone: without a vouched map nothing would tell it the next change.
        // Checked after subscribing, so that a map dropped from now on tells this subscriber too.
        if (!clocks.IsTrusted)
        {
            streams.Unsubscribe(subscriber);
            return Problems.DatabaseUnavailable();
        }
        try
        {
            var (entry, _) = await clocks.GetAsync(subscriber.SessionId);
            subscriber.Offer(entry);
            if (entry.State is null)
            {
                streams.Unsubscribe(subscriber);
                return Problems.UnknownSession();
            }
            return new ClockStreamResult(subscriber, streams, clock);
        }
        catch (ClockUnavailableException)
        {
            streams.Unsubscribe(subscriber);
            return Problems.DatabaseUnavailable();
        }
    }

    private static ProblemHttpResult TooManyStreams(ClockStreamLimit limit) =>
        Problems.TooManyRequests("Too many clock streams", limit == ClockStreamLimit.Token
            ? "this join token already holds as many open clock streams as ClockApi:MaxStreamsPerToken allows"
            : "this replica already holds as many open clock streams as ClockApi:MaxStreams allows");

    /// <summary>
    /// Every clock answer is <c>Cache-Control: no-store</c> (a cached clock is a wrong clock), a 503 and a 429 carry
    /// Retry-After, and each is counted by status, the access rule's refusals included.
    /// </summary>
    private sealed class ClockRequestFilter(string endpoint, ClockMetrics metrics) : IAnswerFilter
    {
        public void Refusing(HttpContext context, int statusCode)
        {
            // A refusal is a clock answer too, with its span, though the access rule decided it before this filter.
            using var activity = ClockTracing.Source.StartActivity($"clock {endpoint}");
            context.Response.Headers.CacheControl = "no-store";
            metrics.Answered(endpoint, statusCode);
        }

        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            using var activity = ClockTracing.Source.StartActivity($"clock {endpoint}");
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            var result = await next(context);
            var inner = result;
            while (inner is INestedHttpResult nested) inner = nested.Result;
            var status = (inner as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
            var retryAfter = status switch
            {
                StatusCodes.Status503ServiceUnavailable => RetryAfter,
                StatusCodes.Status429TooManyRequests => ClockStreamLimits.RetryAfter,
                _ => (TimeSpan?)null,
            };
            if (retryAfter is { } after)
                context.HttpContext.Response.Headers.RetryAfter = ((int)after.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            metrics.Answered(endpoint, status);
            return result;
        }
    }
}
