using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using RoomReconciler.Clock;
using RoomReconciler.Database;
using RoomReconciler.Http;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Timeline;

/// <summary>
/// GET /sessions/{id}/timeline: why a session was billed what it was (JSON, or the chart for a browser), for support
/// when a customer disputes a bill. Same access rule as /clock: the LiveKit join token for the session's room.
/// </summary>
public static class TimelineApi
{
    public const string PageResource = "RoomReconciler.Timeline.timeline.html";

    public static IServiceCollection AddTimeline(this IServiceCollection services)
    {
        services.AddSingleton<TimelineStore>();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, TimelineJsonContext.Default));
        return services;
    }

    public static RouteGroupBuilder MapTimelineApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/sessions").WithTags("Timeline").RequireSessionAccess();
        // The negotiation's headers first, so that the 400 of a malformed id carries them too.
        api.MapGet("/{sessionId}/timeline", GetTimeline)
            .AddAnswerFilter(new NegotiationHeaders())
            .RequireSessionId()
            .WithName("GetSessionTimeline")
            .WithSummary("The session's clock history: events, running and paused intervals, grace periods, presence, billed total")
            .WithDescription("JSON unless the request prefers text/html (a browser), which gets the chart page. Authenticate as for /clock.")
            .Produces<string>(StatusCodes.Status200OK, "text/html")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/{sessionId}/timeline.html", GetTimelinePage)
            .RequireSessionId()
            .WithName("GetSessionTimelinePage")
            .WithSummary("The timeline as a chart (HTML); it loads the JSON with the page's ?access_token=");
        return api;
    }

    public static async Task<Results<Ok<SessionTimeline>, ContentHttpResult, ProblemHttpResult>>
        GetTimeline(string sessionId, HttpRequest request, TimelineStore store, IOptionsMonitor<ReconcilerOptions> rules, CancellationToken ct)
    {
        if (PrefersHtml(request)) return GetTimelinePage(request.HttpContext.Response);
        try
        {
            return await store.LoadAsync(SessionRoute.AdmittedId(sessionId), ct) is var (clock, now, events, presence)
                ? TypedResults.Ok(TimelineBuilder.Build(clock, now, events, presence, rules.CurrentValue))
                : Problems.UnknownSession();
        }
        catch (Exception e) when (DatabaseFailure.IsUnavailable(e) && !ct.IsCancellationRequested)
        {
            return Problems.DatabaseUnavailable();
        }
    }

    /// <summary>The page holds no data of its own; the access rule still answers for a refused token or a malformed id.</summary>
    public static ContentHttpResult GetTimelinePage(HttpResponse response) =>
        EmbeddedPage.Serve(response, PageResource, "text/html; charset=utf-8");

    /// <summary>
    /// The headers of the negotiated route, on its every answer, the access rule's refusals included: the answer
    /// depends on Accept, and the JSON (or a refusal of it) must not be stored; the page sets its own caching.
    /// </summary>
    private sealed class NegotiationHeaders : IAnswerFilter
    {
        public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            Set(context.HttpContext);
            return next(context);
        }

        public void Refusing(HttpContext context, int statusCode) => Set(context);

        private static void Set(HttpContext context)
        {
            context.Response.Headers.Vary = HeaderNames.Accept;
            if (!PrefersHtml(context.Request)) context.Response.Headers.CacheControl = "no-store";
        }
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
