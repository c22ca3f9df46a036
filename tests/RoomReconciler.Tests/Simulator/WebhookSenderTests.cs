using System.Security.Cryptography;
using System.Text.Json;
using LiveKitSimulator;
using NUnit.Framework;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Simulator;

/// <summary>Signed webhooks as §4 describes them, checked by an independent receiver over real HTTP.</summary>
internal sealed class WebhookSenderTests : WebhookSimulatorFixture
{
    protected override SimulatorOptions Options() => new()
    {
        WebhookRetries = 2,
        WebhookRetryMin = TimeSpan.FromMilliseconds(20),
        WebhookRetryMax = TimeSpan.FromMilliseconds(50),
    };

    [Test]
    public async Task EveryWebhook_IsSignedOverTheExactBodyBytes()
    {
        Sim.Rooms.Join("r1", "alice");

        var received = await Sink.WaitForAsync(2);

        Assert.That(received, Has.Count.EqualTo(2));
        foreach (var hook in received)
        {
            Assert.That(hook.ContentType, Is.EqualTo("application/webhook+json"));
            Assert.That(hook.UserAgent, Is.EqualTo("LiveKit"));
            Assert.That(hook.Authorization, Does.Not.StartWith("Bearer"));
            var claims = TestTokens.Verify(hook.Authorization!);
            Assert.That(claims, Is.Not.Null, "HS256 signature with the API secret");
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            Assert.Multiple(() =>
            {
                Assert.That(claims!.Value.GetProperty("iss").GetString(), Is.EqualTo("devkey"));
                Assert.That(claims.Value.GetProperty("sha256").GetString(), Is.EqualTo(Convert.ToBase64String(SHA256.HashData(hook.Body))));
                Assert.That(claims.Value.GetProperty("nbf").GetInt64(), Is.InRange(now - 5, now));
                Assert.That(claims.Value.GetProperty("exp").GetInt64() - claims.Value.GetProperty("iat").GetInt64(), Is.EqualTo(300));
                Assert.That(claims.Value.TryGetProperty("sub", out _), Is.False);
            });
        }
    }

    [Test]
    public async Task Bodies_AreDefaultProtojsonCamelCaseWithZeroValuesOmitted()
    {
        Sim.Rooms.Join("r1", "alice");
        Sim.Rooms.Join("r1", "bot", ParticipantKind.Agent);

        var received = await Sink.WaitForAsync(3);

        var joined = received.Where(r => r.Event == "participant_joined").Select(r => r.Json).ToList();
        Assert.That(joined, Has.Count.EqualTo(2));
        var alice = joined[0];
        Assert.Multiple(() =>
        {
            Assert.That(alice.GetProperty("id").GetString(), Does.StartWith("EV_"));
            Assert.That(alice.GetProperty("createdAt").ValueKind, Is.EqualTo(JsonValueKind.String));
            var participant = alice.GetProperty("participant");
            Assert.That(participant.GetProperty("identity").GetString(), Is.EqualTo("alice"));
            Assert.That(participant.GetProperty("state").GetString(), Is.EqualTo("ACTIVE"));
            Assert.That(participant.GetProperty("joinedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
            Assert.That(participant.GetProperty("joinedAtMs").ValueKind, Is.EqualTo(JsonValueKind.String));
            Assert.That(participant.TryGetProperty("kind", out _), Is.False, "STANDARD is the zero value");
            Assert.That(participant.TryGetProperty("disconnectReason", out _), Is.False);
            Assert.That(participant.TryGetProperty("tracks", out _), Is.False);
            Assert.That(alice.GetProperty("room").GetProperty("emptyTimeout").GetUInt32(), Is.EqualTo(300));
            Assert.That(joined[1].GetProperty("participant").GetProperty("kind").GetString(), Is.EqualTo("AGENT"));
        });
        foreach (var hook in received) Assert.That(PropertyNames(hook.Json).Where(n => n.Contains('_')), Is.Empty, hook.Event);
    }

    [Test]
    public async Task EventsOfOneRoom_ArriveInOrderAndFailuresAreRetried()
    {
        Sink.Statuses.Enqueue(503);
        Sink.Statuses.Enqueue(429);
        var first = Sim.Rooms.Join("r1", "alice");
        var second = Sim.Rooms.Join("r1", "alice");
        Sim.Rooms.Leave("r1", "alice");

        await Sim.Webhooks.WhenIdleAsync();
        var received = Sink.Requests;

        var expected = Sim.Webhooks.History.Select(d => d.Id).ToArray();
        Assert.That(received.Select(r => r.Id).Distinct(), Is.EqualTo(expected));
        Assert.That(received.Count(r => r.Id == expected[0]), Is.EqualTo(3), "room_started: 503, 429, then 200");
        Assert.That(Sim.Webhooks.History[0].Attempts, Is.EqualTo(3));
        Assert.That(Sim.Webhooks.History.Select(d => d.Status), Is.All.EqualTo(WebhookStatus.Delivered));
        Assert.That(received.Where(r => r.Event == "participant_left").Select(r => r.Json.GetProperty("participant").GetProperty("sid").GetString()),
            Is.EqualTo(new[] { first.Sid, second.Sid }));
    }

    [TestCase(400)]
    [TestCase(401)]
    [TestCase(501)]
    public async Task OtherClientErrorsAnd501_AreNotRetried(int status)
    {
        Sink.Statuses.Enqueue(status);
        Sim.Rooms.Create("r1");

        await Sim.Webhooks.WhenIdleAsync();

        var delivery = Sim.Webhooks.History.Single();
        Assert.That(Sink.Requests, Has.Count.EqualTo(1));
        Assert.That((delivery.Status, delivery.Attempts, delivery.HttpStatus), Is.EqualTo((WebhookStatus.Rejected, 1, (int?)status)));
    }

    [Test]
    public async Task PersistentFailures_GiveUpAfterTheRetries()
    {
        for (var i = 0; i < 5; i++) Sink.Statuses.Enqueue(500);
        Sim.Rooms.Create("r1");

        await Sim.Webhooks.WhenIdleAsync();

        Assert.That(Sink.Requests, Has.Count.EqualTo(3));
        Assert.That(Sim.Webhooks.History.Single().Status, Is.EqualTo(WebhookStatus.Failed));
    }

    [Test]
    public async Task ConnectionErrors_AreRetriedThenFail()
    {
        Sim.Webhooks.Url = "http://127.0.0.1:1/hook";
        Sim.Rooms.Create("r1");

        await Sim.Webhooks.WhenIdleAsync();

        var delivery = Sim.Webhooks.History.Single();
        Assert.That((delivery.Status, delivery.Attempts, delivery.HttpStatus), Is.EqualTo((WebhookStatus.Failed, 3, (int?)null)));
    }

    [Test]
    public async Task SwitchedOffWebhooks_AreRecordedButNotSent()
    {
        Sim.Webhooks.Enabled = false;
        Sim.Rooms.Join("r1", "alice");

        await Sim.Webhooks.WhenIdleAsync();

        Assert.That(Sink.Requests, Is.Empty);
        Assert.That(Sim.Webhooks.History.Select(d => d.Status), Is.EqualTo(new[] { WebhookStatus.Skipped, WebhookStatus.Skipped }));
    }

    [Test]
    public async Task Resend_DeliversADuplicateWithTheSameIdAndBytes()
    {
        Sim.Rooms.Join("r1", "alice");
        await Sim.Webhooks.WhenIdleAsync();
        var joined = Sim.Webhooks.History.Single(d => d.Event == "participant_joined");

        Sim.Webhooks.Resend(joined.Id);
        await Sim.Webhooks.WhenIdleAsync();

        var copies = Sink.Requests.Where(r => r.Id == joined.Id).ToList();
        Assert.That(copies, Has.Count.EqualTo(2));
        Assert.That(copies[1].Body, Is.EqualTo(copies[0].Body));
        Assert.That(TestTokens.Verify(copies[1].Authorization!), Is.Not.Null);
    }

    [Test]
    public async Task RawBodies_GoOutSignedAsAsked()
    {
        const string body = """{"event":"participant_left","id":"EV_crafted"}""";
        Sink.Statuses.Enqueue(401);

        var status = await Sim.Webhooks.SendRawAsync(body, WebhookSigning.WrongSecret);
        await Sim.Webhooks.SendRawAsync(body, WebhookSigning.BodyHashMismatch);
        await Sim.Webhooks.SendRawAsync(body, WebhookSigning.Expired);
        await Sim.Webhooks.SendRawAsync(body, WebhookSigning.Missing);
        await Sim.Webhooks.SendRawAsync(body, WebhookSigning.BearerPrefix);
        await Sim.Webhooks.SendRawAsync(body);

        var r = Sink.Requests;
        Assert.That(status, Is.EqualTo(401));
        Assert.That(r.Select(x => System.Text.Encoding.UTF8.GetString(x.Body)), Is.All.EqualTo(body));
        var bodyHash = Convert.ToBase64String(SHA256.HashData(r[0].Body));
        Assert.Multiple(() =>
        {
            Assert.That(TestTokens.Verify(r[0].Authorization!), Is.Null, "wrong secret");
            Assert.That(TestTokens.Verify(r[1].Authorization!)!.Value.GetProperty("sha256").GetString(), Is.Not.EqualTo(bodyHash));
            Assert.That(TestTokens.Verify(r[2].Authorization!)!.Value.GetProperty("exp").GetInt64(), Is.LessThan(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60));
            Assert.That(r[3].Authorization, Is.Null);
            Assert.That(r[4].Authorization, Does.StartWith("Bearer "));
            Assert.That(TestTokens.Verify(r[4].Authorization!["Bearer ".Length..]), Is.Not.Null);
            Assert.That(TestTokens.Verify(r[5].Authorization!)!.Value.GetProperty("sha256").GetString(), Is.EqualTo(bodyHash));
        });
    }

    private static IEnumerable<string> PropertyNames(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => p.Name == "attributes" ? [p.Name] : PropertyNames(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(PropertyNames),
        _ => [],
    };
}
