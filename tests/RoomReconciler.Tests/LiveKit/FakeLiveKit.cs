using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>
/// A stand-in for LiveKit's HTTP port on 127.0.0.1: it records each request and answers whatever the test set in
/// <see cref="Respond"/> (canned golden bodies, Twirp errors, plain text, a hang).
/// </summary>
public sealed class FakeLiveKit : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeLiveKit(WebApplication app) => _app = app;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public Func<HttpContext, Task> Respond { get; set; } = Reply(200, "{}");

    public Uri Url => new(_app.Urls.First());

    public static async Task<FakeLiveKit> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var fake = new FakeLiveKit(builder.Build());
        fake._app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            fake.Requests.Enqueue(new RecordedRequest(
                context.Request.Method, context.Request.Path, context.Request.ContentType,
                context.Request.Headers.Authorization.ToString(), await reader.ReadToEndAsync()));
            await fake.Respond(context);
        });
        await fake._app.StartAsync();
        return fake;
    }

    public static Func<HttpContext, Task> Reply(int status, string body, string contentType = "application/json") =>
        async context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = contentType;
            await context.Response.WriteAsync(body);
        };

    public static Func<HttpContext, Task> TwirpError(int status, string code, string msg) =>
        Reply(status, $$"""{"code":"{{code}}","msg":"{{msg}}"}""");

    /// <summary>Never answers; the request ends only when the client gives up.</summary>
    public static readonly Func<HttpContext, Task> Hang = context => Task.Delay(Timeout.Infinite, context.RequestAborted);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record RecordedRequest(string Method, string Path, string? ContentType, string Authorization, string Body);
