namespace RoomReconciler.Http;

/// <summary>
/// An endpoint filter that sets what every answer of its route carries (headers, counts), the refusals of the
/// authorization middleware (401, 403) included: that middleware answers before any endpoint filter runs, so it tells
/// the filter through the endpoint's metadata instead (<see cref="Clock.SessionAccessRefusals"/>).
/// </summary>
public interface IAnswerFilter : IEndpointFilter
{
    void Refusing(HttpContext context, int statusCode);
}

public static class AnswerFilterExtensions
{
    public static RouteHandlerBuilder AddAnswerFilter(this RouteHandlerBuilder route, IAnswerFilter filter) =>
        route.AddEndpointFilter(filter).WithMetadata(filter);
}
