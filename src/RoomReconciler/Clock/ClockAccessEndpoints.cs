namespace RoomReconciler.Clock;

public static class ClockAccessEndpoints
{
    /// <summary>
    /// The clock API's access rule on every route of a group whose routes carry <c>{sessionId}</c>, with the refusals
    /// it answers in the OpenAPI document. Add it after the filters that must also see its refusals.
    /// </summary>
    public static RouteGroupBuilder RequireClockAccess(this RouteGroupBuilder group) => group
        .AddEndpointFilter<ClockAccessFilter>()
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden);
}
