using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RoomReconciler.Hosting;
using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>POST /livekit/webhook on the real daemon host, over real HTTP, with a real PostgreSQL behind it.</summary>
public sealed class WebhookApiTests
{
    private string _database = null!;

    [OneTimeSetUp]
    public async Task CreateDatabase() => _database = await TestDatabase.CreateMigratedAsync();

    /// <summary>Records what the dispatcher hands to handlers.</summary>
    private sealed class RecordingHandler : IRoomEventHandler
    {
        public ConcurrentQueue<WebhookEvent> Events { get; } = new();

        public ValueTask HandleAsync(WebhookEvent evt, CancellationToken ct)
        {
            Events.Enqueue(evt);
            return ValueTask.CompletedTask;
        }

        /// <summary>Waits until the event with this id has been handled; FIFO, so everything sent before it has been too.</summary>
        public async Task WaitForAsync(string id)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (!Events.Any(e => e.Id == id))
            {
                if (DateTime.UtcNow > deadline) Assert.Fail($"event {id} was never handled");
                await Task.Delay(10);
            }
        }

        public int Count(string id) => Events.Count(e => e.Id == id);
    }

    private sealed class Daemon : IAsyncDisposable
    {
        private readonly WebApplication _app;
        public RecordingHandler Handler { get; }
        public HttpClient Http { get; }

        private Daemon(WebApplication app, RecordingHandler handler)
        {
            _app = app;
            Handler = handler;
            Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        }

        public static async Task<Daemon> StartAsync(string connectionString)
        {
            var handler = new RecordingHandler();
            var app = DaemonHost.Build(
                ["--Urls=http://127.0.0.1:0", "--ConnectionStrings:Postgres=" + connectionString, "--LiveKit:Url=http://127.0.0.1:1",
                 "--LiveKit:ApiKey=devkey", "--LiveKit:ApiSecret=secret", "--Serilog:MinimumLevel:Default=Error"],
                builder => builder.Services.AddSingleton<IRoomEventHandler>(handler));
            await app.StartAsync();
            return new Daemon(app, handler);
        }

        public Task<HttpResponseMessage> PostAsync(byte[] body, string? authorization, bool chunked = false)
        {
            HttpContent content = chunked ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/webhook+json");
            var request = new HttpRequestMessage(HttpMethod.Post, WebhookApi.Path) { Content = content };
            if (chunked) request.Headers.TransferEncodingChunked = true;
            // Raw, as LiveKit sends it: no scheme, which HttpClient's typed header would insist on.
            if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            request.Headers.UserAgent.ParseAdd("LiveKit");
            return Http.SendAsync(request);
        }

        public async Task<HttpStatusCode> SendAsync(string json) =>
            (await PostAsync(Encoding.UTF8.GetBytes(json), TestTokens.Webhook(Encoding.UTF8.GetBytes(json)))).StatusCode;

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static string Event(string id, string evt = "participant_left") =>
        $$"""{"event":"{{evt}}","room":{"sid":"RM_1","name":"session-1"},"participant":{"sid":"PA_1","identity":"customer","state":"DISCONNECTED"},"id":"{{id}}","createdAt":"1771351907"}""";

    private static string NewId() => "EV_" + Guid.NewGuid().ToString("N")[..12];

    private Daemon _daemon = null!;

    [SetUp]
    public async Task Start() => _daemon = await Daemon.StartAsync(_database);

    [TearDown]
    public async Task Stop() => await _daemon.DisposeAsync();

    [Test]
    public async Task Genuine_Accepted_AndHandled()
    {
        var id = NewId();
        Assert.That(await _daemon.SendAsync(Event(id)), Is.EqualTo(HttpStatusCode.OK));
        await _daemon.Handler.WaitForAsync(id);
        var evt = _daemon.Handler.Events.Single(e => e.Id == id);
        Assert.That((evt.Event, evt.Room!.Name, evt.Participant!.State), Is.EqualTo(("participant_left", "session-1", ParticipantState.Disconnected)));
    }

    [Test]
    public async Task CamelCaseZeroValuesOmitted_AcceptedAndParsed()
    {
        Assert.That(await _daemon.SendAsync(Golden.ParticipantJoinedWebhook), Is.EqualTo(HttpStatusCode.OK));
        await _daemon.Handler.WaitForAsync("EV_aB3dE5fG7hJ9");
        var evt = _daemon.Handler.Events.Single(e => e.Id == "EV_aB3dE5fG7hJ9");
        Assert.That((evt.CreatedAt, evt.Participant!.Identity, evt.Participant.Kind, evt.Participant.JoinedAtMs),
            Is.EqualTo((1771351907L, "mechanic", ParticipantKind.Standard, 1771351905000L)));
    }

    [Test]
    public async Task BearerPrefix_Accepted()
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        var response = await _daemon.PostAsync(body, "Bearer " + TestTokens.Webhook(body));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task TamperedBody_Unauthorized()
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        var token = TestTokens.Webhook(body);
        var tampered = Encoding.UTF8.GetBytes(Event(NewId(), "room_finished"));
        Assert.That((await _daemon.PostAsync(tampered, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task ReserializedBody_Unauthorized()
    {
        // One space more: the same JSON, other bytes. The signature covers the bytes.
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        var spaced = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace(",\"id\"", ", \"id\""));
        Assert.That((await _daemon.PostAsync(spaced, TestTokens.Webhook(body))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task WrongSecret_Unauthorized()
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        Assert.That((await _daemon.PostAsync(body, TestTokens.Webhook(body, "wrong"))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Expired_Unauthorized()
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        var token = TestTokens.Webhook(body, now: DateTimeOffset.UtcNow - TimeSpan.FromMinutes(7));
        Assert.That((await _daemon.PostAsync(body, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task AlgNone_Unauthorized()
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        var claims = TestTokens.Claims(TestTokens.Webhook(body)).GetRawText();
        var unsigned = TestTokens.Encode("""{"alg":"none","typ":"JWT"}""") + "." + TestTokens.Encode(claims) + ".";
        Assert.That((await _daemon.PostAsync(body, unsigned)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task UrlSafeOrUnpaddedChecksum_Unauthorized()
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        var hash = System.Security.Cryptography.SHA256.HashData(body);
        var token = AccessToken.Create(TestTokens.ApiKey, TestTokens.Secret, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5),
            extraClaims: new Dictionary<string, object?> { ["sha256"] = System.Buffers.Text.Base64Url.EncodeToString(hash) });
        Assert.That((await _daemon.PostAsync(body, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task NoChecksumClaim_Unauthorized()
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        var token = AccessToken.Create(TestTokens.ApiKey, TestTokens.Secret, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
        Assert.That((await _daemon.PostAsync(body, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("Bearer ")]
    [TestCase("garbage")]
    public async Task MissingOrGarbageHeader_Unauthorized(string? authorization)
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()));
        Assert.That((await _daemon.PostAsync(body, authorization)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Oversized_PayloadTooLarge(bool chunked)
    {
        var body = Encoding.UTF8.GetBytes(Event(NewId()).Replace("\"name\":\"session-1\"", "\"metadata\":\"" + new string('x', WebhookApi.MaxBodyBytes) + "\""));
        var response = await _daemon.PostAsync(body, TestTokens.Webhook(body), chunked);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
    }

    [TestCase("this is not json")]
    [TestCase("[1,2,3]")]
    [TestCase("""{"event":"room_started"}""")]
    [TestCase("""{"id":"EV_x"}""")]
    [TestCase("""{"id":"EV_x","event":"room_started","createdAt":"yesterday"}""")]
    public async Task SignedButNotAnEvent_BadRequest(string json) =>
        Assert.That(await _daemon.SendAsync(json), Is.EqualTo(HttpStatusCode.BadRequest));

    [Test]
    public async Task Replayed_AcceptedButHandledOnce_AlsoAcrossARestart()
    {
        var id = NewId();
        Assert.That(await _daemon.SendAsync(Event(id)), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await _daemon.SendAsync(Event(id)), Is.EqualTo(HttpStatusCode.OK));
        var sentinel = NewId();
        await _daemon.SendAsync(Event(sentinel));
        await _daemon.Handler.WaitForAsync(sentinel);
        Assert.That(_daemon.Handler.Count(id), Is.EqualTo(1));

        await _daemon.DisposeAsync();
        _daemon = await Daemon.StartAsync(_database);
        Assert.That(await _daemon.SendAsync(Event(id)), Is.EqualTo(HttpStatusCode.OK));
        var after = NewId();
        await _daemon.SendAsync(Event(after));
        await _daemon.Handler.WaitForAsync(after);
        Assert.That(_daemon.Handler.Count(id), Is.Zero, "the restarted daemon remembers the id");
    }

    [Test]
    public async Task DatabaseUnreachable_ServiceUnavailable_ThenAcceptedWhenBack()
    {
        Assume.That(TestDatabase.Cluster, Is.Not.Null, "needs the suite's own cluster to stop and start");
        var id = NewId();
        var json = Event(id);
        var body = Encoding.UTF8.GetBytes(json);
        await TestDatabase.Cluster!.StopServerAsync();
        HttpResponseMessage response;
        try { response = await _daemon.PostAsync(body, TestTokens.Webhook(body)); }
        finally { await TestDatabase.Cluster.StartServerAsync(); }
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("   at "), "no stack trace");
        Assert.That(_daemon.Handler.Events, Is.Empty);
        // LiveKit's retry, once the database is back, is taken (a first attempt may meet a pooled connection that died).
        var retried = await Eventually.Async(() => _daemon.SendAsync(json), s => s == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10), "the retry to be accepted");
        Assert.That(retried, Is.EqualTo(HttpStatusCode.OK));
        await _daemon.Handler.WaitForAsync(id);
    }

    [Test]
    public async Task OldRowsArePruned()
    {
        await TestDatabase.ExecuteAsync(_database,
            "INSERT INTO roomreconciler.livekit_webhook_events (id, event, received_at) VALUES ('EV_ancient', 'room_started', now() - interval '2 days')");
        await using var fresh = await Daemon.StartAsync(_database); // a new process prunes on its first insert
        Assert.That(await fresh.SendAsync(Event(NewId())), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await fresh.SendAsync(Event("EV_ancient")), Is.EqualTo(HttpStatusCode.OK));
        await fresh.Handler.WaitForAsync("EV_ancient");
    }
}
