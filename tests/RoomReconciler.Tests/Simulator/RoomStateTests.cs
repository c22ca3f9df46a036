using LiveKitSimulator;
using NUnit.Framework;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Simulator;

/// <summary>Counting (§2), staleness (§2), duplicate identity (§5) and closing empty rooms (§2).</summary>
internal sealed class RoomStateTests : SimulatorFixture
{
    private readonly ManualClock clock = new();

    protected override TimeProvider Clock() => clock;

    protected override SimulatorOptions Options() => new() { DepartureTimeout = TimeSpan.FromMilliseconds(300) };

    private string[] Events() => Sim.Webhooks.History.Select(d => $"{d.Event}:{d.Participant?.Identity}").ToArray();

    [Test]
    public async Task NumParticipants_ExcludesAgentsAndEgressAndCountsHiddenJoiningSipAndIngress()
    {
        Sim.Rooms.Join("r1", "customer");
        Sim.Rooms.Join("r1", "observer", hidden: true);
        Sim.Rooms.Join("r1", "mechanic", active: false);
        Sim.Rooms.Join("r1", "phone", ParticipantKind.Sip);
        Sim.Rooms.Join("r1", "stream", ParticipantKind.Ingress);
        Sim.Rooms.Join("r1", "bot", ParticipantKind.Agent);
        Sim.Rooms.Join("r1", "recorder", ParticipantKind.Egress);

        Assert.That(await NumParticipants("r1"), Is.EqualTo(5));
        Assert.That((await ListParticipants("r1")).GetArrayLength(), Is.EqualTo(7));
    }

    [Test]
    public async Task AStaleCount_LagsUntilTheRefreshIntervalWhileListParticipantsIsExact()
    {
        Sim.SetNumParticipantsStaleness(TimeSpan.FromSeconds(5));
        Sim.Rooms.Join("r1", "alice");
        Assert.That(await NumParticipants("r1"), Is.Zero, "the first snapshot was taken when the room opened");

        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(await NumParticipants("r1"), Is.EqualTo(1));

        Sim.Rooms.Join("r1", "bob");
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.That(await NumParticipants("r1"), Is.EqualTo(1));
        Assert.That((await ListParticipants("r1")).GetArrayLength(), Is.EqualTo(2));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(await NumParticipants("r1"), Is.EqualTo(2));

        Sim.Rooms.Leave("r1", "bob");
        Sim.SetNumParticipantsStaleness(TimeSpan.Zero);
        Assert.That(await NumParticipants("r1"), Is.EqualTo(1));
    }

    [Test]
    public async Task ASameIdentityJoin_ReplacesTheParticipantWithANewSidAndWebhooksInOrder()
    {
        var first = Sim.Rooms.Join("r1", "alice");
        var second = Sim.Rooms.Join("r1", "alice");

        Assert.That(second.Sid, Is.Not.EqualTo(first.Sid));
        var listed = await ListParticipants("r1");
        Assert.That(listed.GetArrayLength(), Is.EqualTo(1));
        Assert.That(listed[0].GetProperty("sid").GetString(), Is.EqualTo(second.Sid));

        var history = Sim.Webhooks.History;
        Assert.That(history.Select(d => (d.Event, d.Participant?.Sid)), Is.EqualTo(new (string, string?)[]
        {
            ("room_started", null), ("participant_joined", first.Sid), ("participant_left", first.Sid), ("participant_joined", second.Sid),
        }));
        Assert.That(history[2].Participant!.DisconnectReason, Is.EqualTo(DisconnectReason.DuplicateIdentity));
        Assert.That(history[2].Participant!.State, Is.EqualTo(ParticipantState.Disconnected));
    }

    [Test]
    public void ReplacingAParticipantThatNeverBecameActive_AbortsItAndTheNewcomerJoinsWhenActive()
    {
        Sim.Rooms.Join("r1", "alice", active: false);
        Sim.Rooms.Join("r1", "alice", active: false);
        Assert.That(Events(), Is.EqualTo(new[] { "room_started:", "participant_connection_aborted:alice" }));

        Sim.Rooms.Activate("r1", "alice");
        Sim.Rooms.Activate("r1", "alice");
        Assert.That(Events(), Is.EqualTo(new[] { "room_started:", "participant_connection_aborted:alice", "participant_joined:alice" }));
    }

    [Test]
    public async Task TheRoom_ClosesDepartureTimeoutAfterTheLastParticipantLeaves()
    {
        Sim.Rooms.Join("r1", "alice");
        Sim.Rooms.Join("r1", "bot", ParticipantKind.Agent);
        Sim.Rooms.Leave("r1", "alice");
        Assert.That((await ListRooms()).GetArrayLength(), Is.EqualTo(1), "still open during departure_timeout");

        await WaitUntil(() => Sim.Rooms.Get("r1") is null);

        Assert.That((await ListRooms()).GetArrayLength(), Is.Zero);
        Assert.That(Events(), Is.EqualTo(new[]
        {
            "room_started:", "participant_joined:alice", "participant_joined:bot", "participant_left:alice", "participant_left:bot", "room_finished:",
        }));
        Assert.That(Sim.Webhooks.History[4].Participant!.DisconnectReason, Is.EqualTo(DisconnectReason.RoomClosed));
    }

    [Test]
    public async Task ARejoinWithinDepartureTimeout_KeepsTheRoom()
    {
        var room = Sim.Rooms.Join("r1", "alice");
        Sim.Rooms.Leave("r1", "alice");
        await Task.Delay(100);
        Sim.Rooms.Join("r1", "alice");

        await Task.Delay(500);

        Assert.That(Sim.Rooms.Get("r1"), Is.Not.Null);
        Assert.That(Events(), Does.Not.Contain("room_finished:"));
        Assert.That(room.Sid, Is.Not.Empty);
    }

    [Test]
    public async Task ARoomNobodyJoins_ClosesAfterItsOwnEmptyTimeout()
    {
        Sim.Rooms.Create("r1", emptyTimeout: TimeSpan.FromMilliseconds(200));

        await WaitUntil(() => Sim.Rooms.Get("r1") is null);

        Assert.That(Events(), Is.EqualTo(new[] { "room_started:", "room_finished:" }));
    }

    [Test]
    public void JoinedTime_ComesFromTheClockAndStatesMoveOnRequest()
    {
        clock.Advance(TimeSpan.FromSeconds(30));
        var joining = Sim.Rooms.Join("r1", "alice", active: false);
        var joined = Sim.Rooms.SetState("r1", "alice", ParticipantState.Joined);
        var active = Sim.Rooms.Activate("r1", "alice");

        Assert.That(joining.JoinedAt, Is.EqualTo(clock.Now));
        Assert.That((joining.State, joined.State, active.State),
            Is.EqualTo((ParticipantState.Joining, ParticipantState.Joined, ParticipantState.Active)));
        Assert.That(active.Version, Is.GreaterThan(joined.Version));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.That(condition(), Is.True, "timed out");
    }
}
