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
        if (Admit(sessionId, request, access, out var id) is { } refused) return refused;
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
            Admit(sessionId, request, access, out _) is { } refused
                ? refused
                : EmbeddedPage.Serve(request.HttpContext.Response, PageResource, "text/html; charset=utf-8"));

    /// <summary>
    /// <see cref="ClockAccess"/>'s verdict as /clock gives it: 401 (no valid token; says nothing about the session),
    /// then 400 (malformed id), then 403 (a valid token for another room).
    /// </summary>
    private static ProblemHttpResult? Admit(string sessionId, HttpRequest request, ClockAccess access, out Guid id)
    {
        var parsed = Guid.TryParseExact(sessionId, "D", out id) ? id : (Guid?)null;
        var verdict = access.Check(ClockAccess.TokenOf(request), parsed, out var reason);
        if (verdict == ClockAccessVerdict.Unauthenticated) request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return verdict switch
        {
            ClockAccessVerdict.Unauthenticated => TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "A LiveKit join token is required", detail: reason),
            ClockAccessVerdict.Forbidden => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: reason),
            _ when parsed is null => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed session id",
                detail: "the session id must be a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301"),
            _ => null,
        };
    }

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
