using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using RoomReconciler.Hosting;
using RoomReconciler.Http;

namespace RoomReconciler.Demo;

/// <summary>
/// GET /demo/{sessionId}: two clocks of one session side by side (the customer's and the mechanic's view), each its
/// own <c>createSessionClock</c> from src/clock-client/session-clock.js as the daemon serves it, the participants'
/// presence and a link to the timeline. Mapped only when <c>Demo:Enabled</c> is true; otherwise the routes are 404.
/// </summary>
public static class DemoApi
{
    public static IServiceCollection AddDemo(this IServiceCollection services, IConfiguration configuration) =>
        services.AddKeyedOptions<DemoOptions>(configuration);

    public static IEndpointRouteBuilder MapDemoApi(this IEndpointRouteBuilder app)
    {
        if (!app.ServiceProvider.GetRequiredService<IOptions<DemoOptions>>().Value.Enabled) return app;
        var demo = app.MapGroup("/demo").WithTags("Demo").ExcludeFromDescription();
        demo.MapGet("/assets/session-clock.js", (HttpResponse response) =>
            EmbeddedPage.Serve(response, ClockModuleResource, "text/javascript; charset=utf-8"));
        demo.MapGet("/{sessionId}", GetDemo).RequireSessionId();
        return app;
    }

    /// <summary>The page holds no data of its own: its clocks ask /clock with the token they are given.</summary>
    public static ContentHttpResult GetDemo(HttpResponse response) =>
        EmbeddedPage.Serve(response, PageResource, "text/html; charset=utf-8");

    // The EmbeddedResource items of RoomReconciler.csproj.
    private const string PageResource = "RoomReconciler.Demo.demo.html";
    private const string ClockModuleResource = "RoomReconciler.Demo.session-clock.js";
}
