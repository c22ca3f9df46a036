using System.Text.Json;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>The DTOs read everything docs/livekit.md §1, §2 and §4 say the server may send.</summary>
public sealed class WireTypesTests
{
    private static T Parse<T>(string json) => JsonSerializer.Deserialize<T>(json, LiveKitJson.Options)!;

    private static readonly Room ExpectedRoom = new()
    {
        Sid = "RM_t7Hsu8aHbUvG", Name = "session-1", EmptyTimeout = 300, DepartureTimeout = 20,
        CreationTime = 1694522628, NumParticipants = 2, NumPublishers = 1,
    };

    [Test]
    public void Room_SnakeCaseWithStringInt64s()
    {
        var room = Parse<ListRoomsResponse>(Golden.ListRoomsSnake).Rooms!.Single();
        Assert.That(room, Is.EqualTo(ExpectedRoom with { CreationTimeMs = 1694522628345 }));
    }

    [Test]
    public void Room_CamelCaseWithNumbersAndOmittedZeros_CreationTimeMsFallsBackToSeconds()
    {
        var room = Parse<ListRoomsResponse>(Golden.ListRoomsCamel).Rooms!.Single();
        Assert.That(room, Is.EqualTo(ExpectedRoom));
        Assert.That(room.CreationTimeMs, Is.EqualTo(1694522628000));
    }

    [Test]
    public void Participant_EveryFieldSnakeCase()
    {
        var p = Parse<ParticipantInfo>(Golden.CustomerSnake);
        Assert.Multiple(() =>
        {
            Assert.That(p.Sid, Is.EqualTo("PA_customer"));
            Assert.That(p.Identity, Is.EqualTo("customer"));
            Assert.That(p.Name, Is.EqualTo("Customer"));
            Assert.That(p.State, Is.EqualTo(ParticipantState.Active));
            Assert.That(p.Kind, Is.EqualTo(ParticipantKind.Standard));
            Assert.That(p.Metadata, Is.EqualTo("""{"role":"customer"}"""));
            Assert.That(p.JoinedAt, Is.EqualTo(1694522630));
            Assert.That(p.JoinedAtMs, Is.EqualTo(1694522630456));
            Assert.That(p.Version, Is.EqualTo(7));
            Assert.That(p.Permission, Is.EqualTo(new ParticipantPermission { CanSubscribe = true, CanPublish = true, CanPublishData = true }));
            Assert.That(p.IsHidden, Is.False);
            Assert.That(p.Region, Is.EqualTo("eu"));
            Assert.That(p.IsPublisher, Is.True);
            Assert.That(p.DisconnectReason, Is.EqualTo(DisconnectReason.UnknownReason));
        });
    }

    [Test]
    public void Participants_HiddenEgress_UnknownEnumNumbers_NullPermission_UnknownFields()
    {
        var list = Parse<ListParticipantsResponse>(Golden.ListParticipantsSnake).Participants!;
        Assert.That(list.Select(p => p.Identity), Is.EqualTo(new[] { "customer", "recorder", "future" }));
        var recorder = list[1];
        Assert.That(recorder.Kind, Is.EqualTo(ParticipantKind.Egress));
        Assert.That(recorder.State, Is.EqualTo(ParticipantState.Joined));
        Assert.That(recorder.IsHidden, Is.True);
        Assert.That(recorder.JoinedAtMs, Is.EqualTo(1694522640000), "joined_at_ms \"0\" falls back to joined_at");
        var future = list[2];
        Assert.That((int)future.Kind, Is.EqualTo(99), "an unknown number keeps its value, so it is not STANDARD");
        Assert.That((int)future.State, Is.EqualTo(9));
        Assert.That((int)future.DisconnectReason, Is.EqualTo(42));
        Assert.That(future.Permission, Is.Null);
        Assert.That(future.IsHidden, Is.False);
        Assert.That(future.JoinedAtMs, Is.EqualTo(1694522650000));
    }

    [TestCase("state", "\"ACTIVE\"", ParticipantState.Active)]
    [TestCase("state", "2", ParticipantState.Active)]
    [TestCase("state", "\"active\"", ParticipantState.Active)]
    [TestCase("state", "\"DISCONNECTED\"", ParticipantState.Disconnected)]
    [TestCase("state", "\"SOMETHING_NEW\"", ParticipantState.Unrecognized)]
    [TestCase("state", "null", ParticipantState.Joining)]
    [TestCase("state", "{\"x\":1}", ParticipantState.Unrecognized)]
    [TestCase("kind", "\"AGENT\"", ParticipantKind.Agent)]
    [TestCase("kind", "4", ParticipantKind.Agent)]
    [TestCase("kind", "\"SIP\"", ParticipantKind.Sip)]
    [TestCase("kind", "\"CONNECTOR\"", ParticipantKind.Connector)]
    [TestCase("kind", "8", ParticipantKind.Bridge)]
    [TestCase("kind", "\"ROBOT\"", ParticipantKind.Unrecognized)]
    [TestCase("disconnectReason", "\"DUPLICATE_IDENTITY\"", DisconnectReason.DuplicateIdentity)]
    [TestCase("disconnect_reason", "\"SIP_TRUNK_FAILURE\"", DisconnectReason.SipTrunkFailure)]
    [TestCase("disconnectReason", "16", DisconnectReason.AgentError)]
    public void Enums_NameNumberOrUnknown(string field, string json, Enum expected)
    {
        var p = Parse<ParticipantInfo>($$"""{"{{field}}":{{json}}}""");
        Enum actual = field switch { "state" => p.State, "kind" => p.Kind, _ => p.DisconnectReason };
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void Enums_WriteProtoNames() =>
        Assert.That(JsonSerializer.Serialize(DisconnectReason.ClientInitiated, LiveKitJson.Options), Is.EqualTo("\"CLIENT_INITIATED\""));

    [Test]
    public void Webhook_CamelCaseZeroValuesOmitted()
    {
        var evt = Parse<WebhookEvent>(Golden.ParticipantJoinedWebhook);
        Assert.Multiple(() =>
        {
            Assert.That(evt.Id, Is.EqualTo("EV_aB3dE5fG7hJ9"));
            Assert.That(evt.Event, Is.EqualTo(WebhookEventNames.ParticipantJoined));
            Assert.That(evt.CreatedAt, Is.EqualTo(1771351907));
            Assert.That(evt.Room!.Name, Is.EqualTo("session-1"));
            Assert.That(evt.Room.NumParticipants, Is.Zero);
            Assert.That(evt.Room.CreationTimeMs, Is.EqualTo(1771351900123));
            Assert.That(evt.Participant!.Identity, Is.EqualTo("mechanic"));
            Assert.That(evt.Participant.Kind, Is.EqualTo(ParticipantKind.Standard));
            Assert.That(evt.Participant.State, Is.EqualTo(ParticipantState.Joining));
            Assert.That(evt.Participant.JoinedAtMs, Is.EqualTo(1771351905000));
            Assert.That(evt.Participant.Permission!.CanPublish, Is.True);
        });
    }

    [Test]
    public void Webhook_NullMessages() =>
        Assert.That(Parse<WebhookEvent>("""{"id":"EV_1","event":"room_finished","room":null,"participant":null}""").Participant, Is.Null);

    [Test]
    public void Int64_BothSpellingsAndForms()
    {
        Assert.That(Parse<ParticipantInfo>("""{"joined_at_ms":"1700000000123"}""").JoinedAtMs, Is.EqualTo(1700000000123));
        Assert.That(Parse<ParticipantInfo>("""{"joinedAtMs":1700000000123}""").JoinedAtMs, Is.EqualTo(1700000000123));
    }
}
