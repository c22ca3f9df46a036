using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Clock;

/// <summary>
/// The <see cref="SchemeName"/> authentication scheme: the caller holds a LiveKit join token (docs/contract.md), from
/// <c>Authorization: Bearer</c> or <c>?access_token=</c>, and its principal carries the token's room grant. What the
/// token may read is the policy's (<see cref="SessionAccess"/>).
/// </summary>
/// <remarks>
/// Logs nothing of its own (a null logger factory): ASP.NET Core's handler logs every refused token at Information,
/// and a 401 is an answer, in the request log already, not an event.
/// </remarks>
public sealed class JoinTokenAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, UrlEncoder encoder, JoinTokens tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, NullLoggerFactory.Instance, encoder)
{
    public const string SchemeName = "LiveKitJoinToken";

    /// <summary>The grant's <c>video.room</c> and <c>video.roomJoin</c> ("true" when granted).</summary>
    public const string RoomClaim = "video.room";
    public const string RoomJoinClaim = "video.roomJoin";

    /// <summary>The token from <c>Authorization: Bearer</c>, or from <c>?access_token=</c> for EventSource, which cannot set headers.</summary>
    public static string? TokenOf(HttpRequest request)
    {
        var header = request.Headers.Authorization;
        if (header.Count == 1 && header[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return value[7..].Trim();
        if (header.Count > 0) return null;
        var query = request.Query["access_token"];
        return query.Count == 1 ? query[0] : null;
    }

    /// <remarks>
    /// The only scheme is ASP.NET Core's default, so every request is authenticated with it; one without a token
    /// costs the look-up and no verification.
    /// </remarks>
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TokenOf(Request) is not { } token) return Task.FromResult(AuthenticateResult.Fail(TokenVerifier.MissingToken));
        try
        {
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(tokens.Verify(token), SchemeName)));
        }
        catch (TokenRejectedException e)
        {
            return Task.FromResult(AuthenticateResult.Fail(e.Message));
        }
    }

    public static ClaimsPrincipal Principal(VideoGrants? video)
    {
        List<Claim> claims = [new(RoomJoinClaim, video?.RoomJoin == true ? "true" : "false")];
        if (video?.Room is { } room) claims.Add(new(RoomClaim, room));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
    }
}
