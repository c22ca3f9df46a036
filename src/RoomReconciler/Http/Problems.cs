using Microsoft.AspNetCore.Http.HttpResults;

namespace RoomReconciler.Http;

/// <summary>
/// The problem answers (RFC 9457) of the session routes, /clock and /sessions, worded once. Headers that go with
/// them are set where the rule behind them is: WWW-Authenticate by <see cref="Clock.SessionAccessRefusals"/>,
/// Retry-After by the clock API, whose replicas answer again within its second.
/// </summary>
public static class Problems
{
    public static ProblemHttpResult MalformedSessionId() =>
        Problem(StatusCodes.Status400BadRequest, "Malformed session id",
            "the session id must be a UUID such as 3f2504e0-4f89-41d3-9a0c-0305e82c3301");

    /// <param name="reason">why the token was refused ("token is expired"); it says nothing about the session</param>
    public static ProblemHttpResult Unauthenticated(string? reason) =>
        Problem(StatusCodes.Status401Unauthorized, "A LiveKit join token is required", reason);

    public static ProblemHttpResult Forbidden(string? reason) => Problem(StatusCodes.Status403Forbidden, "Forbidden", reason);

    public static ProblemHttpResult UnknownSession() => Problem(StatusCodes.Status404NotFound, "Unknown session");

    public static ProblemHttpResult TooManyRequests(string title, string detail) =>
        Problem(StatusCodes.Status429TooManyRequests, title, detail);

    public static ProblemHttpResult DatabaseUnavailable() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "The clock database is unavailable");

    private static ProblemHttpResult Problem(int status, string title, string? detail = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
