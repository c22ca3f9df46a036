using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using RoomReconciler.Http;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Clock;

/// <summary>
/// Who may read a session (/clock, /sessions/{id}/timeline): the holder of a LiveKit join token for the session's room,
/// through ASP.NET Core's own authentication (<see cref="JoinTokenAuthentication"/>) and authorization
/// (<see cref="Policy"/>), unless <c>ClockApi:RequireToken</c> is false. The order of the answers is 401 (no valid
/// token; says nothing about the session), then 400 (malformed id, <see cref="SessionRoute.RequireSessionId"/>), then
/// 403 (a valid token for another room), as <see cref="SessionAccessRefusals"/> words them.
/// </summary>
public static class SessionAccess
{
    public const string Policy = "ReadSession";

    public static IServiceCollection AddSessionAccess(this IServiceCollection services)
    {
        services.AddSingleton<JoinTokens>();
        services.AddAuthentication().AddScheme<AuthenticationSchemeOptions, JoinTokenAuthentication>(JoinTokenAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder().AddPolicy(Policy, policy => policy
            .AddAuthenticationSchemes(JoinTokenAuthentication.SchemeName)
            .RequireAuthenticatedUser()
            .AddRequirements(new SessionReadRequirement()));
        services.AddSingleton<IAuthorizationHandler, SessionReadHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, SessionAccessRefusals>();
        return services;
    }

    /// <summary>
    /// Authorization, placed after the middleware that must see its refusals too: the request log, and the management
    /// port's 404 for every other path. Left to itself, the host would put it first. No authentication middleware: the
    /// policy names its scheme, so the token is read for the routes that ask for it alone, not for every webhook, probe
    /// and scrape (the one registered scheme would otherwise be every request's default).
    /// </summary>
    public static WebApplication UseSessionAccess(this WebApplication app)
    {
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// The rule on every route of a group whose routes carry <c>{sessionId}</c>, with the refusals it answers in the
    /// OpenAPI document; with <c>ClockApi:RequireToken=false</c>, anyone may read.
    /// </summary>
    public static RouteGroupBuilder RequireSessionAccess(this RouteGroupBuilder group)
    {
        var required = ((IEndpointRouteBuilder)group).ServiceProvider.GetRequiredService<IOptions<ClockApiOptions>>().Value.RequireToken;
        return (required ? group.RequireAuthorization(Policy) : group.AllowAnonymous())
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
    }
}

/// <summary>This token may read this session: it grants roomJoin for the room of the route's <c>{sessionId}</c>.</summary>
public sealed class SessionReadRequirement : IAuthorizationRequirement;

public sealed class SessionReadHandler(IOptions<ReconcilerOptions> reconciler) : AuthorizationHandler<SessionReadRequirement>
{
    private readonly RoomNames _rooms = reconciler.Value.Rooms();

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SessionReadRequirement requirement)
    {
        // Without a valid token the policy's authenticated-user rule refuses (401), whatever the id.
        if (context.User.Identity?.IsAuthenticated != true || context.Resource is not HttpContext http) return Task.CompletedTask;
        var grantsJoin = context.User.HasClaim(JoinTokenAuthentication.RoomJoinClaim, "true");
        // A malformed id is the endpoint's to answer (400), after the 401 and before any 403.
        if (SessionRoute.ParseId(http.GetRouteValue(SessionRoute.IdParameter) as string) is not { } id)
            context.Succeed(requirement);
        else if (grantsJoin && context.User.FindFirst(JoinTokenAuthentication.RoomClaim)?.Value == _rooms.For(id))
            context.Succeed(requirement);
        else
            context.Fail(new AuthorizationFailureReason(this, grantsJoin ? "the token is for another room" : "the token does not grant roomJoin"));
        return Task.CompletedTask;
    }
}
