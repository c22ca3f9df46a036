namespace RoomReconciler.Http;

/// <summary>The <c>{sessionId}</c> of a route: the one spelling of a session id it accepts, and the 400 for any other.</summary>
public static class SessionRoute
{
    public const string IdParameter = "sessionId";

    /// <summary>Only the canonical 36-character form: a room name is built from it, so there is one spelling per session.</summary>
    public static Guid? ParseId(string? sessionId) => Guid.TryParseExact(sessionId, "D", out var id) ? id : null;

    /// <summary>The id of a request that <see cref="RequireSessionId"/> let through.</summary>
    public static Guid AdmittedId(string sessionId) => Guid.ParseExact(sessionId, "D");

    /// <summary>
    /// Answers 400 for a route value that is not a canonical UUID, before the handler runs. An endpoint filter, so it
    /// runs after authorization: a caller without a valid token learns nothing about ids, not even which are well formed.
    /// </summary>
    public static RouteHandlerBuilder RequireSessionId(this RouteHandlerBuilder route) => route
        .AddEndpointFilter((context, next) =>
            ParseId(context.HttpContext.Request.RouteValues[IdParameter] as string) is null
                ? ValueTask.FromResult<object?>(Problems.MalformedSessionId())
                : next(context))
        .ProducesProblem(StatusCodes.Status400BadRequest);
}
