using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RoomReconciler.Tests.Operations;

/// <summary>
/// A stand-in OpenTelemetry collector: OTLP/HTTP on loopback, answering 200 and keeping every request body by path
/// (/v1/traces, /v1/metrics). Protobuf stores strings as their UTF-8 bytes, so span and service names can be
/// found in the bodies without decoding them.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, byte[] Body)> _requests = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public string Url => _app.Urls.First();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver._requests.Enqueue((request.Path, body.ToArray()));
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Every body received on the path, as text (the protobuf's strings readable in it).</summary>
    public string Received(string path) =>
        string.Join("\n", _requests.Where(r => r.Path == path).Select(r => Encoding.UTF8.GetString(r.Body)));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
