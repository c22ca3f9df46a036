using Microsoft.AspNetCore.Http.HttpResults;

namespace RoomReconciler.Clock;

/// <summary>
/// <see cref="ClockAccess"/> for every route of a session (<c>{sessionId}</c>), as problem answers in this order:
/// 401 (no valid token; says nothing about the session), then 400 (malformed id), then 403 (a valid token for another
/// room). A request it lets through has a canonical session id, which the handler reads with <see cref="AdmittedId"/>.
/// </summary>
public sealed class ClockAccessFilter(ClockAccess access) : IEndpointFilter
{
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var request = context.HttpContext.Request;
        var id = ParseId(request.RouteValues["sessionId"] as string);
        switch (access.Check(ClockAccess.TokenOf(request), id, out var reason))
        {
            case ClockAccessVerdict.Unauthenticated:
                context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                return Refuse(StatusCodes.Status401Unauthorized, "A LiveKit join token is required", reason);
            case ClockAccessVerdict.Forbidden:
                return Refuse(StatusCodes.Status403Forbidden, "Forbidden", reason);
        }
        return id is null ? ValueTask.FromResult<object?>(MalformedId()) : next(context);
    }

    /// <summary>Only the canonical 36-character form: a room name is built from it, so there is one spelling per session.</summary>
    public static Guid? ParseId(string? sessionId) => Guid.TryParseExact(sessionId, "D", out var id) ? id : null;

    public static ProblemHttpResult MalformedId() =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Malformed session id",
            detail: "the session id must be a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301");

    /// <summary>The id of a request this filter let through.</summary>
    public static Guid AdmittedId(string sessionId) => Guid.ParseExact(sessionId, "D");

    private static ValueTask<object?> Refuse(int status, string title, string? detail) =>
        ValueTask.FromResult<object?>(TypedResults.Problem(statusCode: status, title: title, detail: detail));
}
