using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using LiveKitSimulator;
using NUnit.Framework;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Simulator;

/// <summary>The /_simulator JSON routes the demo script drives with curl.</summary>
internal sealed class ControlApiTests : SimulatorFixture
{
    private async Task<(int Status, JsonElement Body)> Control(HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, "_simulator/" + path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement);
    }

    [Test]
    public async Task JoinActivateAndLeave_ScriptTheRoomThatRoomServiceShows()
    {
        var (joinStatus, joined) = await Control(HttpMethod.Post, "join", """{"room":"r1","identity":"alice","kind":"sip","hidden":true,"active":false}""");
        await Control(HttpMethod.Post, "join", """{"room":"r1","identity":"bob"}""");
        var (_, activated) = await Control(HttpMethod.Post, "activate", """{"room":"r1","identity":"alice"}""");
        var (leaveStatus, left) = await Control(HttpMethod.Post, "leave", """{"room":"r1","identity":"bob","reason":"CONNECTION_TIMEOUT"}""");
        var (_, listed) = await Control(HttpMethod.Get, "rooms");

        Assert.That(joinStatus, Is.EqualTo(200));
        Assert.Multiple(() =>
        {
            Assert.That(joined.GetProperty("kind").GetString(), Is.EqualTo("SIP"));
            Assert.That(joined.GetProperty("state").GetString(), Is.EqualTo("JOINING"));
            Assert.That(activated.GetProperty("state").GetString(), Is.EqualTo("ACTIVE"));
            Assert.That(leaveStatus, Is.EqualTo(200));
            Assert.That(left.GetProperty("disconnect_reason").GetString(), Is.EqualTo("CONNECTION_TIMEOUT"));
            Assert.That(listed.GetProperty("rooms")[0].GetProperty("participants").GetArrayLength(), Is.EqualTo(1));
        });
        var participants = await ListParticipants("r1");
        Assert.That(participants[0].GetProperty("sid").GetString(), Is.EqualTo(joined.GetProperty("sid").GetString()));
        Assert.That(participants[0].GetProperty("permission").GetProperty("hidden").GetBoolean(), Is.True);
    }

    [Test]
    public async Task LegacyGrantsLostNetworkAndADeadNode_CanBeDrivenOverHttp()
    {
        var (_, bot) = await Control(HttpMethod.Post, "join", """{"room":"r1","identity":"old-bot","legacy_agent":true}""");
        await Control(HttpMethod.Post, "join", """{"room":"r1","identity":"alice"}""");
        var (lostStatus, lost) = await Control(HttpMethod.Post, "lose_network", """{"room":"r1","identity":"alice"}""");
        var (missingStatus, _) = await Control(HttpMethod.Post, "lose_network", """{"room":"r1","identity":"nobody"}""");
        var (failStatus, _) = await Control(HttpMethod.Post, "fail_node");
        var (leaveStatus, _) = await Control(HttpMethod.Post, "leave", """{"room":"r1","identity":"alice"}""");

        Assert.Multiple(() =>
        {
            Assert.That(bot.GetProperty("permission").GetProperty("agent").GetBoolean(), Is.True);
            Assert.That((lostStatus, lost.GetProperty("state").GetString()), Is.EqualTo((200, "ACTIVE")), "still ACTIVE until LiveKit removes it");
            Assert.That(missingStatus, Is.EqualTo(404));
            Assert.That(failStatus, Is.EqualTo(200));
            Assert.That(leaveStatus, Is.EqualTo(400), "a dead node's room takes no leaves");
            Assert.That(Sim.Rooms.IsOrphaned("r1"), Is.True);
        });
    }

    [Test]
    public async Task FaultsCallsAndStaleness_CanBeDrivenOverHttp()
    {
        var (faultStatus, _) = await Control(HttpMethod.Post, "faults", """{"kind":"unavailable","method":"ListRooms","count":1}""");
        using var faulted = await Twirp("ListRooms", "{}", TestTokens.List());
        await Control(HttpMethod.Post, "faults", """{"kind":"internal"}""");
        await Control(HttpMethod.Delete, "faults");
        var (_, calls) = await Control(HttpMethod.Get, "calls");
        var (stalenessStatus, _) = await Control(HttpMethod.Post, "staleness", """{"seconds":5}""");

        Assert.That(faultStatus, Is.EqualTo(200));
        await AssertTwirpError(faulted, 503, "unavailable");
        Assert.That((await ListRooms()).GetArrayLength(), Is.Zero);
        Assert.That(calls.GetProperty("ListRooms").GetInt32(), Is.EqualTo(1));
        Assert.That(stalenessStatus, Is.EqualTo(200));
        Assert.That(Sim.Rooms.NumParticipantsRefresh, Is.EqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task WebhookSettingsAndHistory_AreVisible()
    {
        var (status, state) = await Control(HttpMethod.Post, "webhooks", """{"enabled":false,"url":"http://127.0.0.1:9/hook"}""");
        Sim.Rooms.Join("r1", "alice");
        var (_, history) = await Control(HttpMethod.Get, "webhooks");

        Assert.That(status, Is.EqualTo(200));
        Assert.That(state.GetProperty("enabled").GetBoolean(), Is.False);
        Assert.That(Sim.Webhooks.Url, Is.EqualTo("http://127.0.0.1:9/hook"));
        Assert.That(history.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetString()),
            Is.EqualTo(new[] { "room_started", "participant_joined" }));
    }

    [TestCase("POST", "join", "not json", "not JSON")]
    [TestCase("POST", "join", "[1,2]", "JSON object")]
    [TestCase("POST", "join", "{}", "'room' is required")]
    [TestCase("POST", "join", """{"room":"r1"}""", "'identity' is required")]
    [TestCase("POST", "join", """{"room":"r1","identity":"a","kind":"WIZARD"}""", "'kind' must be one of")]
    [TestCase("POST", "join", """{"room":"r1","identity":"a","hidden":"yes"}""", "'hidden' must be true or false")]
    [TestCase("POST", "join", """{"room":7,"identity":"a"}""", "'room' must be a string")]
    [TestCase("POST", "rooms", """{"name":"r1","departure_timeout":-1}""", "'departure_timeout'")]
    [TestCase("POST", "leave", """{"room":"r1","identity":"a","reason":"BORED"}""", "'reason'")]
    [TestCase("POST", "state", """{"room":"r1","identity":"a"}""", "'state' is required")]
    [TestCase("POST", "faults", "{}", "'kind' is required")]
    [TestCase("POST", "faults", """{"kind":"hang","count":-1}""", "'count'")]
    [TestCase("POST", "faults", """{"kind":"hang","delay_ms":"soon"}""", "'delay_ms'")]
    [TestCase("POST", "staleness", """{"seconds":"abc"}""", "'seconds'")]
    [TestCase("POST", "webhooks", """{"url":"ftp://x"}""", "'url'")]
    [TestCase("POST", "webhooks/resend", "{}", "'id' is required")]
    public async Task BadInput_IsA400WithAMessage(string method, string path, string body, string message)
    {
        var (status, error) = await Control(new HttpMethod(method), path, body);

        Assert.That(status, Is.EqualTo(400));
        Assert.That(error.GetProperty("error").GetString(), Does.Contain(message));
    }

    [Test]
    public async Task UnknownParticipantsAndRooms_Are404()
    {
        var (leave, _) = await Control(HttpMethod.Post, "leave", """{"room":"r1","identity":"ghost"}""");
        var (activate, _) = await Control(HttpMethod.Post, "activate", """{"room":"r1","identity":"ghost"}""");
        var (delete, _) = await Control(HttpMethod.Delete, "rooms/r1");
        var (resend, _) = await Control(HttpMethod.Post, "webhooks/resend", """{"id":"EV_nothing"}""");

        Assert.That(new[] { leave, activate, delete, resend }, Is.All.EqualTo(404));
    }

    [Test]
    public async Task ARawWebhook_NeedsAConfiguredUrl()
    {
        using var response = await Http.PostAsJsonAsync("_simulator/webhooks/raw", new { body = "{}" });

        Assert.That((int)response.StatusCode, Is.EqualTo(400));
        Assert.That(Sim.Webhooks.Url, Is.Null);
    }
}
