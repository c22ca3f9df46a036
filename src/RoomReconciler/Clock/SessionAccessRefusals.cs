using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using RoomReconciler.Http;

namespace RoomReconciler.Clock;

/// <summary>
/// The refusals of <see cref="SessionAccess.Policy"/> as the session routes' problem answers: 401 with
/// <c>WWW-Authenticate: Bearer</c> and why the token was refused, 403 with why it may not read this session. The
/// route's <see cref="IAnswerFilter"/>s hear of each first, as they would of an answer of the handler. Any other
/// policy (none yet) gets ASP.NET Core's own answers.
/// </summary>
public sealed class SessionAccessRefusals : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _framework = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded || !policy.Requirements.OfType<SessionReadRequirement>().Any())
        {
            await _framework.HandleAsync(next, context, policy, authorizeResult);
            return;
        }
        var refusal = authorizeResult.Challenged
            // The handler keeps its result for the request: this reads the reason, it does not verify again.
            ? Problems.Unauthenticated((await context.AuthenticateAsync(JoinTokenAuthentication.SchemeName)).Failure?.Message)
            : Problems.Forbidden(authorizeResult.AuthorizationFailure?.FailureReasons.FirstOrDefault()?.Message);
        foreach (var filter in context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAnswerFilter>() ?? [])
            filter.Refusing(context, refusal.StatusCode);
        if (authorizeResult.Challenged) context.Response.Headers.WWWAuthenticate = "Bearer";
        await refusal.ExecuteAsync(context);
    }
}
