using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Timeline;

/// <summary>
/// GET /sessions/{id}/timeline: why a session was billed what it was (JSON, or the chart for a browser), for support
/// when a customer disputes a bill. Same access rule as /clock: the LiveKit join token for the session's room.
/// </summary>
public static class TimelineApi
{
    public const string PageResource = "RoomReconciler.Timeline.timeline.html";

    public static IServiceCollection AddTimelineApi(this IServiceCollection services)
    {
        services.AddSingleton<TimelineStore>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, TimelineJsonContext.Default));
        return services;
    }

    public static RouteGroupBuilder MapTimelineApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/sessions").WithTags("Timeline");
        api.MapGet("/{sessionId}/timeline", GetTimeline)
            .WithName("GetSessionTimeline")
            .WithSummary("The session's clock history: events, running and paused intervals, grace periods, presence, billed total")
            .WithDescription("JSON unless the request prefers text/html (a browser), which gets the chart page. Authenticate as for /clock.")
            .Produces<string>(StatusCodes.Status200OK, "text/html")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/{sessionId}/timeline.html", GetTimelinePage)
            .WithName("GetSessionTimelinePage")
            .WithSummary("The timeline as a chart (HTML); it loads the JSON with the page's ?access_token=")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return api;
    }

    public static async Task<Results<Ok<SessionTimeline>, ContentHttpResult, NotFound<ProblemDetails>, ProblemHttpResult>>
        GetTimeline(string sessionId, HttpRequest request, ClockAccess access, TimelineStore store,
            IOptionsMonitor<ReconcilerOptions> rules, CancellationToken ct)
    {
        request.HttpContext.Response.Headers.Vary = HeaderNames.Accept;
        if (PrefersHtml(request)) return await GetTimelinePage(sessionId, request, access);
        request.HttpContext.Response.Headers.CacheControl = "no-store";
        if (ClockApi.Admit(sessionId, request, access, out var id) is { } refused) return refused;
        try
        {
            return await store.LoadAsync(id, ct) is var (clock, events, presence)
                ? TypedResults.Ok(TimelineBuilder.Build(clock, events, presence, rules.CurrentValue))
                : TypedResults.NotFound(new ProblemDetails { Status = StatusCodes.Status404NotFound, Title = "Unknown session" });
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException && !ct.IsCancellationRequested)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The clock database is unavailable");
        }
    }

    /// <summary>The page holds no data of its own, but answers as the JSON would for a refused token or a malformed id.</summary>
    public static Task<Results<Ok<SessionTimeline>, ContentHttpResult, NotFound<ProblemDetails>, ProblemHttpResult>>
        GetTimelinePage(string sessionId, HttpRequest request, ClockAccess access) =>
        Task.FromResult<Results<Ok<SessionTimeline>, ContentHttpResult, NotFound<ProblemDetails>, ProblemHttpResult>>(
            ClockApi.Admit(sessionId, request, access, out _) is { } refused
                ? refused
                : EmbeddedPage.Serve(request.HttpContext.Response, PageResource, "text/html; charset=utf-8"));

    /// <summary>HTML only when the client ranks text/html above JSON (a browser's navigation); curl's and fetch's */* get JSON.</summary>
    public static bool PrefersHtml(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept.Count == 0) return false;
        double Quality(string type) => accept
            .Where(m => m.MatchesMediaType(type))
            .Select(m => m.Quality ?? 1.0).DefaultIfEmpty(0).Max();
        return Quality("text/html") > Quality("application/json");
    }

    private static bool MatchesMediaType(this MediaTypeHeaderValue range, string type) =>
        new MediaTypeHeaderValue(type).IsSubsetOf(range);
}
