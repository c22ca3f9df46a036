using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text;
using LiveKitSimulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace RoomReconciler.Tests.Simulator;

/// <summary>Mints and checks HS256 tokens for the tests, independently of the simulator's own JWT code.</summary>
internal static class TestTokens
{
    public const string Key = "devkey";
    public const string Secret = "secret";

    public static string Mint(object? video, string key = Key, string secret = Secret, TimeSpan? expiresIn = null,
        TimeSpan? notBeforeIn = null, bool withExp = true, string alg = "HS256")
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new JsonObject { ["iss"] = key, ["iat"] = now, ["nbf"] = now + (long)(notBeforeIn ?? TimeSpan.Zero).TotalSeconds };
        if (withExp) claims["exp"] = now + (long)(expiresIn ?? TimeSpan.FromMinutes(10)).TotalSeconds;
        if (video is not null) claims["video"] = JsonSerializer.SerializeToNode(video);
        var signingInput = B64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg, typ = "JWT" })) + "." + B64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return signingInput + "." + B64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput)));
    }

    public static string List() => Mint(new { roomList = true });

    public static string Admin(string room) => Mint(new { roomAdmin = true, room });

    public static string Create() => Mint(new { roomCreate = true });

    /// <summary>The claims when the signature verifies with <paramref name="secret"/>, else null.</summary>
    public static JsonElement? Verify(string token, string secret = Secret)
    {
        var parts = token.Split('.');
        if (parts.Length != 3) return null;
        var expected = B64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1])));
        if (expected != parts[2]) return null;
        var header = JsonDocument.Parse(FromB64Url(parts[0])).RootElement;
        if (header.GetProperty("alg").GetString() != "HS256") return null;
        return JsonDocument.Parse(FromB64Url(parts[1])).RootElement;
    }

    private static string B64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] FromB64Url(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s + new string('=', (4 - s.Length % 4) % 4));
    }
}

/// <summary>A clock the test moves by hand; timers still run on real time.</summary>
internal sealed class ManualClock : TimeProvider
{
    /// <summary>Starts near the real time, so tokens minted with the real time stay valid, at a known millisecond.</summary>
    public DateTimeOffset Now { get; set; } = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddMilliseconds(123);

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

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
