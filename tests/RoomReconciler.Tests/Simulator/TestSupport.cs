using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKitSimulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Simulator;

/// <summary>A webhook receiver over real HTTP that records the raw requests and answers scripted statuses.</summary>
internal sealed class WebhookSink : IAsyncDisposable
{
    public sealed record Received(byte[] Body, string? Authorization, string? ContentType, string? UserAgent)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        public string Event => Json.GetProperty("event").GetString()!;
        public string Id => Json.GetProperty("id").GetString()!;
    }

    private readonly WebApplication app;
    private readonly ConcurrentQueue<Received> received = new();

    private WebhookSink(WebApplication app) => this.app = app;

    /// <summary>Statuses to answer, in order; 200 once they run out.</summary>
    public ConcurrentQueue<int> Statuses { get; } = new();

    public string Url { get; private set; } = "";

    public IReadOnlyList<Received> Requests => received.ToList();

    public static async Task<WebhookSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var sink = new WebhookSink(builder.Build());
        sink.app.MapPost("/hook", async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var headers = context.Request.Headers;
            sink.received.Enqueue(new Received(body.ToArray(), headers.Authorization.FirstOrDefault(),
                headers.ContentType.FirstOrDefault(), headers.UserAgent.FirstOrDefault()));
            context.Response.StatusCode = sink.Statuses.TryDequeue(out var status) ? status : 200;
        });
        await sink.app.StartAsync();
        sink.Url = sink.app.Urls.First() + "/hook";
        return sink;
    }

    public async Task<IReadOnlyList<Received>> WaitForAsync(int count, double seconds = 2)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (received.Count < count && DateTime.UtcNow < deadline) await Task.Delay(10);
        return Requests;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>An in-process simulator and an HttpClient for each test.</summary>
internal abstract class SimulatorFixture
{
    protected SimulatorServer Sim = null!;
    protected HttpClient Http = null!;

    protected virtual SimulatorOptions Options() => new();

    protected virtual TimeProvider? Clock() => null;

    [SetUp]
    public async Task StartSimulator()
    {
        Sim = await SimulatorServer.StartAsync(Options(), Clock());
        Http = new HttpClient { BaseAddress = new Uri(Sim.Url + "/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    [TearDown]
    public async Task StopSimulator()
    {
        Http.Dispose();
        await Sim.DisposeAsync();
    }

    /// <summary>A hand-written Twirp call.</summary>
    protected async Task<HttpResponseMessage> Twirp(string method, string body, string? token, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "twirp/livekit.RoomService/" + method)
        {
            Content = new StringContent(body, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await Http.SendAsync(request);
    }

    protected async Task<JsonElement> TwirpOk(string method, string body, string token)
    {
        using var response = await Twirp(method, body, token);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), text);
        return JsonDocument.Parse(text).RootElement;
    }

    protected async Task<JsonElement> ListRooms(string body = "{}") => (await TwirpOk("ListRooms", body, TestTokens.List())).GetProperty("rooms");

    protected async Task<JsonElement> ListParticipants(string room) =>
        (await TwirpOk("ListParticipants", $$"""{"room":"{{room}}"}""", TestTokens.Admin(room))).GetProperty("participants");

    protected async Task<uint> NumParticipants(string room)
    {
        var rooms = await ListRooms($$"""{"names":["{{room}}"]}""");
        return rooms[0].GetProperty("num_participants").GetUInt32();
    }

    protected static async Task AssertTwirpError(HttpResponseMessage response, int status, string code, string? msg = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(status), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var json = JsonDocument.Parse(text).RootElement;
        Assert.That(json.GetProperty("code").GetString(), Is.EqualTo(code));
        if (msg is not null) Assert.That(json.GetProperty("msg").GetString(), Is.EqualTo(msg));
    }

    protected static async Task AssertPlainUnauthorized(HttpResponseMessage response, string bodyStart)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(401), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        Assert.That(text, Does.StartWith(bodyStart));
    }
}

/// <summary>A simulator whose webhooks go to a <see cref="WebhookSink"/> of the test's own.</summary>
internal abstract class WebhookSimulatorFixture : SimulatorFixture
{
    protected WebhookSink Sink = null!;

    [SetUp]
    public async Task StartSink()
    {
        Sink = await WebhookSink.StartAsync();
        Sim.Webhooks.Url = Sink.Url;
    }

    [TearDown]
    public async Task StopSink() => await Sink.DisposeAsync();
}
