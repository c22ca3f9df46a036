using System.Text.Json;
using LiveKitSimulator;
using NUnit.Framework;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Simulator;

/// <summary>RoomService over Twirp JSON as protocol §1 and §2 describe it.</summary>
internal sealed class RoomServiceTests : SimulatorFixture
{
    private static readonly string[] RoomFields =
    [
        "sid", "name", "empty_timeout", "departure_timeout", "max_participants", "creation_time", "creation_time_ms",
        "turn_password", "enabled_codecs", "metadata", "num_participants", "num_publishers", "active_recording", "version",
    ];

    private static readonly string[] ParticipantFields =
    [
        "sid", "identity", "name", "state", "tracks", "metadata", "joined_at", "joined_at_ms", "version", "permission",
        "region", "is_publisher", "kind", "attributes", "disconnect_reason", "kind_details", "data_tracks",
        "client_protocol", "capabilities",
    ];

    private static readonly string[] PermissionFields =
    [
        "can_subscribe", "can_publish", "can_publish_data", "can_publish_sources", "hidden", "recorder",
        "can_update_metadata", "agent", "can_subscribe_metrics", "can_manage_agent_session",
    ];

    private readonly ManualClock clock = new();

    protected override TimeProvider Clock() => clock;

    private static string[] Keys(JsonElement element) => element.EnumerateObject().Select(p => p.Name).ToArray();

    [Test]
    public async Task ListRooms_AnswersProtojsonWithProtoNamesEveryFieldAndInt64AsStrings()
    {
        Sim.Rooms.Join("r1", "alice");

        using var response = await Twirp("ListRooms", "{}", TestTokens.List());
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var rooms = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("rooms");

        Assert.That(rooms.GetArrayLength(), Is.EqualTo(1));
        var room = rooms[0];
        Assert.That(Keys(room), Is.EquivalentTo(RoomFields));
        Assert.Multiple(() =>
        {
            Assert.That(room.GetProperty("sid").GetString(), Does.StartWith("RM_"));
            Assert.That(room.GetProperty("name").GetString(), Is.EqualTo("r1"));
            // As in the real body quoted in §1: "empty_timeout":300 (uint32 number), "creation_time":"1694522628" (int64 string).
            Assert.That(room.GetProperty("empty_timeout").ValueKind, Is.EqualTo(JsonValueKind.Number));
            Assert.That(room.GetProperty("empty_timeout").GetUInt32(), Is.EqualTo(300));
            Assert.That(room.GetProperty("departure_timeout").GetUInt32(), Is.EqualTo(20));
            Assert.That(room.GetProperty("creation_time").ValueKind, Is.EqualTo(JsonValueKind.String));
            Assert.That(room.GetProperty("creation_time").GetString(), Is.EqualTo(clock.Now.ToUnixTimeSeconds().ToString()));
            Assert.That(room.GetProperty("creation_time_ms").GetString(), Is.EqualTo(clock.Now.ToUnixTimeMilliseconds().ToString()));
            Assert.That(room.GetProperty("turn_password").GetString(), Is.Empty);
            Assert.That(room.GetProperty("metadata").GetString(), Is.Empty);
            Assert.That(room.GetProperty("num_participants").GetUInt32(), Is.EqualTo(1));
            Assert.That(room.GetProperty("num_publishers").GetUInt32(), Is.Zero);
            Assert.That(room.GetProperty("active_recording").GetBoolean(), Is.False);
            Assert.That(room.GetProperty("enabled_codecs").ValueKind, Is.EqualTo(JsonValueKind.Array));
            Assert.That(Keys(room.GetProperty("enabled_codecs")[0]), Is.EquivalentTo(new[] { "mime", "fmtp_line" }));
            Assert.That(room.GetProperty("version").GetProperty("unix_micro").ValueKind, Is.EqualTo(JsonValueKind.String));
        });
    }

    [Test]
    public async Task ListParticipants_AnswersEveryParticipantInfoFieldWithJoinedTimeFromTheClock()
    {
        Sim.Rooms.Join("r1", "agent-1", ParticipantKind.Agent, hidden: true, active: false);

        var participants = await ListParticipants("r1");

        Assert.That(participants.GetArrayLength(), Is.EqualTo(1));
        var p = participants[0];
        Assert.That(Keys(p), Is.EquivalentTo(ParticipantFields));
        Assert.That(Keys(p.GetProperty("permission")), Is.EquivalentTo(PermissionFields));
        Assert.Multiple(() =>
        {
            Assert.That(p.GetProperty("sid").GetString(), Does.StartWith("PA_"));
            Assert.That(p.GetProperty("identity").GetString(), Is.EqualTo("agent-1"));
            Assert.That(p.GetProperty("state").GetString(), Is.EqualTo("JOINING"));
            Assert.That(p.GetProperty("kind").GetString(), Is.EqualTo("AGENT"));
            Assert.That(p.GetProperty("disconnect_reason").GetString(), Is.EqualTo("UNKNOWN_REASON"));
            Assert.That(p.GetProperty("joined_at").GetString(), Is.EqualTo(clock.Now.ToUnixTimeSeconds().ToString()));
            Assert.That(p.GetProperty("joined_at_ms").GetString(), Is.EqualTo(clock.Now.ToUnixTimeMilliseconds().ToString()));
            Assert.That(p.GetProperty("version").ValueKind, Is.EqualTo(JsonValueKind.Number));
            Assert.That(p.GetProperty("permission").GetProperty("hidden").GetBoolean(), Is.True);
            Assert.That(p.GetProperty("attributes").ValueKind, Is.EqualTo(JsonValueKind.Object));
            Assert.That(p.GetProperty("kind_details").GetArrayLength(), Is.Zero);
            Assert.That(p.GetProperty("tracks").GetArrayLength(), Is.Zero);
            Assert.That(p.GetProperty("is_publisher").GetBoolean(), Is.False);
        });
    }

    [Test]
    public async Task ListRooms_FiltersByNamesAndTreatsOmittedOrEmptyNamesAsAll()
    {
        foreach (var name in new[] { "a", "b", "c" }) Sim.Rooms.Join(name, "alice");

        var filtered = await ListRooms("""{"names":["a","unknown","c"]}""");
        var all = await ListRooms("""{"names":[]}""");
        var omitted = await ListRooms();

        Assert.That(filtered.EnumerateArray().Select(r => r.GetProperty("name").GetString()), Is.EquivalentTo(new[] { "a", "c" }));
        Assert.That(all.GetArrayLength(), Is.EqualTo(3));
        Assert.That(omitted.GetArrayLength(), Is.EqualTo(3));
    }

    [Test]
    public async Task ListParticipantsOfAnUnknownRoom_IsEmptyByDefault()
    {
        var participants = await ListParticipants("nowhere");

        Assert.That(participants.GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task ListParticipantsOfAnUnknownRoom_IsUnavailableWithPsrpc()
    {
        Sim.Options.PsrpcListParticipants = true;

        using var response = await Twirp("ListParticipants", """{"room":"nowhere"}""", TestTokens.Admin("nowhere"));

        await AssertTwirpError(response, 503, "unavailable", "no response from servers");
    }

    [Test]
    public async Task GetParticipant_FindsByIdentityAndAnswersNotFoundOtherwise()
    {
        var alice = Sim.Rooms.Join("r1", "alice");

        var found = await TwirpOk("GetParticipant", """{"room":"r1","identity":"alice"}""", TestTokens.Admin("r1"));
        using var missing = await Twirp("GetParticipant", """{"room":"r1","identity":"bob"}""", TestTokens.Admin("r1"));

        Assert.That(found.GetProperty("sid").GetString(), Is.EqualTo(alice.Sid));
        await AssertTwirpError(missing, 404, "not_found", "participant does not exist");
    }

    [Test]
    public async Task RemoveParticipant_KicksWithParticipantRemovedAndAnswersNotFoundTheSecondTime()
    {
        Sim.Rooms.Join("r1", "alice");
        Sim.Rooms.Join("r1", "bob");

        var removed = await TwirpOk("RemoveParticipant", """{"room":"r1","identity":"alice"}""", TestTokens.Admin("r1"));
        using var again = await Twirp("RemoveParticipant", """{"room":"r1","identity":"alice"}""", TestTokens.Admin("r1"));

        Assert.That(Keys(removed), Is.Empty);
        await AssertTwirpError(again, 404, "not_found");
        Assert.That((await ListParticipants("r1")).EnumerateArray().Select(p => p.GetProperty("identity").GetString()), Is.EqualTo(new[] { "bob" }));
        var left = Sim.Webhooks.History.Single(d => d.Event == "participant_left");
        Assert.That(left.Participant!.DisconnectReason, Is.EqualTo(DisconnectReason.ParticipantRemoved));
    }

    [Test]
    public async Task DeleteRoom_RemovesTheRoomAndAnswersNotFoundForAnUnknownOne()
    {
        Sim.Rooms.Join("r1", "alice");

        var deleted = await TwirpOk("DeleteRoom", """{"room":"r1"}""", TestTokens.Create());
        using var unknown = await Twirp("DeleteRoom", """{"room":"r1"}""", TestTokens.Create());

        Assert.That(Keys(deleted), Is.Empty);
        Assert.That((await ListRooms()).GetArrayLength(), Is.Zero);
        await AssertTwirpError(unknown, 404, "not_found", "requested room does not exist");
        Assert.That(Sim.Webhooks.History.Select(d => d.Event), Is.EqualTo(new[] { "room_started", "participant_joined", "participant_left", "room_finished" }));
    }

    [Test]
    public async Task CreateRoom_AcceptsCamelCaseInt64StringsAndUnknownFields()
    {
        var room = await TwirpOk("CreateRoom",
            """{"name":"r9","emptyTimeout":"60","departure_timeout":5,"maxParticipants":2,"somethingNew":{"x":1}}""", TestTokens.Create());

        Assert.Multiple(() =>
        {
            Assert.That(room.GetProperty("name").GetString(), Is.EqualTo("r9"));
            Assert.That(room.GetProperty("empty_timeout").GetUInt32(), Is.EqualTo(60));
            Assert.That(room.GetProperty("departure_timeout").GetUInt32(), Is.EqualTo(5));
            Assert.That(room.GetProperty("max_participants").GetUInt32(), Is.EqualTo(2));
        });
        Assert.That(Sim.Rooms.Get("r9"), Is.Not.Null);
    }

    [TestCase("application/json; charset=UTF-8")]
    [TestCase("APPLICATION/JSON")]
    public async Task ContentType_IsMatchedWithoutCaseAndParameters(string contentType)
    {
        using var response = await Twirp("ListRooms", "{}", TestTokens.List(), contentType);

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task OtherContentTypes_AreBadRoute()
    {
        using var response = await Twirp("ListRooms", "{}", TestTokens.List(), "text/plain");

        await AssertTwirpError(response, 404, "bad_route");
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("unexpected Content-Type"));
    }

    [Test]
    public async Task ProtobufRequests_GetATwirpErrorSinceOnlyJsonIsSimulated()
    {
        using var response = await Twirp("ListRooms", "", TestTokens.List(), "application/protobuf");

        await AssertTwirpError(response, 501, "unimplemented");
    }

    [Test]
    public async Task AMethodOtherThanPost_IsBadRoute()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "twirp/livekit.RoomService/ListRooms");
        request.Headers.Add("Authorization", "Bearer " + TestTokens.List());
        using var response = await Http.SendAsync(request);

        await AssertTwirpError(response, 404, "bad_route");
    }

    [Test]
    public async Task AnUnknownMethod_IsBadRoute()
    {
        using var response = await Twirp("ListEverything", "{}", TestTokens.List());

        await AssertTwirpError(response, 404, "bad_route", "no handler for path \"/twirp/livekit.RoomService/ListEverything\"");
    }

    [TestCase("")]
    [TestCase("{\"names\":")]
    [TestCase("{\"names\":\"a\"}")]
    public async Task ABodyThatDoesNotDecode_IsMalformed(string body)
    {
        using var response = await Twirp("ListRooms", body, TestTokens.List());

        await AssertTwirpError(response, 400, "malformed", "the json request could not be decoded");
    }

    [Test]
    public async Task Calls_AreCountedPerMethod()
    {
        await ListRooms();
        await ListRooms();
        await ListParticipants("r1");
        using var _ = await Twirp("ListRooms", "{}", token: null);

        Assert.That(Sim.Calls["ListRooms"], Is.EqualTo(3));
        Assert.That(Sim.Calls["ListParticipants"], Is.EqualTo(1));
        Assert.That(Sim.Calls.Total, Is.EqualTo(4));
    }
}
