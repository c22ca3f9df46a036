using System.Text.Json;
using LiveKitSimulator;
using NUnit.Framework;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Simulator;

/// <summary>
/// The participant lifecycle a bill depends on (docs/livekit.md §8): legacy grants in num_participants, JOINING
/// that never completes, unclean disconnects, dropped webhooks, the psrpc answer, and a dead node's rooms.
/// Timers run on real time, shortened by the options.
/// </summary>
internal sealed class LifecycleTests : WebhookSimulatorFixture
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan UncleanTimeout = TimeSpan.FromMilliseconds(400);

    protected override SimulatorOptions Options() => new()
    {
        JoinTimeout = JoinTimeout,
        UncleanDisconnectTimeout = UncleanTimeout,
        DepartureTimeout = TimeSpan.FromMilliseconds(200),
        WebhookRetries = 4,
        WebhookRetryMin = TimeSpan.FromMilliseconds(200),
        WebhookRetryMax = TimeSpan.FromMilliseconds(200),
    };

    private string[] Events() => Sim.Webhooks.History.Select(d => $"{d.Event}:{d.Participant?.Identity}").ToArray();

    [Test]
    public async Task LegacyAgentAndRecorderGrants_AreDependentLikeTheirKinds()
    {
        Sim.Rooms.Join("r1", "customer");
        Sim.Rooms.Join("r1", "old-bot", new JoinOptions { LegacyAgent = true });
        Sim.Rooms.Join("r1", "old-recorder", new JoinOptions { LegacyRecorder = true });

        Assert.That(await NumParticipants("r1"), Is.EqualTo(1), "IsDependent: the legacy grants count as agent and recorder");
        var listed = (await ListParticipants("r1")).EnumerateArray().ToDictionary(p => p.GetProperty("identity").GetString()!);
        Assert.Multiple(() =>
        {
            Assert.That(listed["old-bot"].GetProperty("kind").GetString(), Is.EqualTo("STANDARD"));
            Assert.That(listed["old-bot"].GetProperty("permission").GetProperty("agent").GetBoolean(), Is.True);
            Assert.That(listed["old-recorder"].GetProperty("permission").GetProperty("recorder").GetBoolean(), Is.True);
            Assert.That(listed["customer"].GetProperty("permission").GetProperty("agent").GetBoolean(), Is.False);
        });
    }

    [Test]
    public async Task JoiningThenJoinedThenActive_SendsParticipantJoinedOnlyAtActive()
    {
        Sim.Rooms.Join("r1", "bob", active: false);
        Assert.That(await NumParticipants("r1"), Is.EqualTo(1), "JOINING is counted");
        Sim.Rooms.SetState("r1", "bob", ParticipantState.Joined);
        Assert.That(Events(), Is.EqualTo(new[] { "room_started:" }));

        Sim.Rooms.Activate("r1", "bob");
        await Task.Delay(JoinTimeout * 2);

        Assert.That(Events(), Is.EqualTo(new[] { "room_started:", "participant_joined:bob" }));
        Assert.That(Sim.Rooms.Participant("r1", "bob")!.State, Is.EqualTo(ParticipantState.Active), "an ACTIVE participant is not timed out");
    }

    [Test]
    public async Task AParticipantThatNeverReachesActive_IsRemovedAfterTheJoinTimeout()
    {
        Sim.Rooms.Join("r1", "customer");
        Sim.Rooms.Join("r1", "bob", active: false);
        Sim.Rooms.SetState("r1", "bob", ParticipantState.Joined);
        await Task.Delay(JoinTimeout / 3);
        Assert.That(Sim.Rooms.Participant("r1", "bob"), Is.Not.Null, "listed while it waits");

        await Eventually(() => Sim.Rooms.Participant("r1", "bob") is null, JoinTimeout * 5, "the join timeout");

        var aborted = Sim.Webhooks.History.Last();
        Assert.That((aborted.Event, aborted.Participant!.Identity, aborted.Participant.DisconnectReason),
            Is.EqualTo(("participant_connection_aborted", "bob", DisconnectReason.JoinFailure)));
        Assert.That(Events(), Does.Not.Contain("participant_joined:bob"));
    }

    [Test]
    public void ASignalCloseBeforeIce_RemovesAJoiningParticipantAtOnce()
    {
        Sim.Rooms.Join("r1", "bob", active: false);

        var gone = Sim.Rooms.Leave("r1", "bob", DisconnectReason.SignalClose);

        Assert.That(gone!.State, Is.EqualTo(ParticipantState.Disconnected));
        Assert.That(Sim.Rooms.Participant("r1", "bob"), Is.Null);
        Assert.That(Events().Last(), Is.EqualTo("participant_connection_aborted:bob"));
    }

    [Test]
    public async Task AnUncleanDisconnect_StaysActiveUntilTheTimeoutThenLeavesWithConnectionTimeout()
    {
        Sim.Rooms.Join("r1", "customer");
        Sim.Rooms.Join("r1", "mechanic");
        var lost = DateTimeOffset.UtcNow;

        Sim.Rooms.LoseNetwork("r1", "customer");
        await Task.Delay(UncleanTimeout / 2);
        Assert.That(Sim.Rooms.Participant("r1", "customer")!.State, Is.EqualTo(ParticipantState.Active), "still ACTIVE while ICE times out");

        await Eventually(() => Sim.Rooms.Participant("r1", "customer") is null, UncleanTimeout * 5, "the removal");
        var removed = DateTimeOffset.UtcNow;

        var left = Sim.Webhooks.History.Single(d => d.Event == "participant_left");
        Assert.That(left.Participant!.DisconnectReason, Is.EqualTo(DisconnectReason.ConnectionTimeout));
        var createdAt = JsonDocument.Parse(left.Body).RootElement.GetProperty("createdAt").GetString();
        Assert.That(long.Parse(createdAt!), Is.InRange((lost + UncleanTimeout).ToUnixTimeSeconds(), removed.ToUnixTimeSeconds()),
            "createdAt is the removal time, not the moment the network vanished");
    }

    [Test]
    public async Task Webhooks_AreDroppedWhenTheRoomQueueIsFullOrAnEventWaitedTooLong()
    {
        Sim.Options.WebhookQueueLimit = 2;
        Sim.Options.WebhookMaxQueueWait = TimeSpan.FromMilliseconds(300);
        foreach (var status in new[] { 503, 503, 503 }) Sink.Statuses.Enqueue(status);

        Sim.Rooms.Join("r1", "a"); // room_started (retried, holds the queue ~600 ms) and participant_joined:a (queued)
        Sim.Rooms.Join("r1", "b"); // participant_joined:b: the queue already holds 2
        await Sim.Webhooks.WhenIdleAsync();

        var statuses = Sim.Webhooks.History.Select(d => $"{d.Event}:{d.Participant?.Identity}:{d.Status}").ToArray();
        Assert.That(statuses, Is.EqualTo(new[]
        {
            "room_started::Delivered",
            "participant_joined:a:Dropped", // waited > 300 ms behind the retries before its first send
            "participant_joined:b:Dropped", // the room's queue was full
        }));
    }

    [Test]
    public async Task WithPsrpcListParticipantsOfARoomNoNodeHosts_IsUnavailable()
    {
        Sim.Options.PsrpcListParticipants = true;
        Sim.Rooms.Join("live", "alice");
        Sim.Rooms.Join("closing", "bob");
        Sim.Rooms.Leave("closing", "bob");
        await Eventually(() => Sim.Rooms.Get("closing") is null, TimeSpan.FromSeconds(3), "the room to close");

        Assert.That((await ListParticipants("live")).GetArrayLength(), Is.EqualTo(1));
        using var closed = await Twirp("ListParticipants", """{"room":"closing"}""", TestTokens.Admin("closing"));
        await AssertTwirpError(closed, 503, "unavailable", "no response from servers");
        Assert.That((await ListRooms("""{"names":["closing"]}""")).GetArrayLength(), Is.Zero, "ListRooms names tells a closed room");
    }

    [Test]
    public async Task ADeadNodesRooms_StayListedWithActiveParticipantsAndSendNothing()
    {
        Sim.Rooms.Join("r1", "customer");
        Sim.Rooms.Join("r1", "mechanic", active: false);
        Sim.Rooms.LoseNetwork("r1", "customer");
        var events = Events().Length;

        Sim.Rooms.FailNode();
        await Task.Delay(UncleanTimeout + JoinTimeout);

        Assert.That((await ListRooms()).GetArrayLength(), Is.EqualTo(1));
        var listed = await ListParticipants("r1");
        Assert.That(listed.EnumerateArray().Select(p => p.GetProperty("state").GetString()), Is.EquivalentTo(new[] { "ACTIVE", "JOINING" }),
            "no TTL and no timer: the store keeps them as they were");
        Assert.That(Events(), Has.Length.EqualTo(events), "no participant_left, no room_finished");
        Assert.Throws<BadInputException>(() => Sim.Rooms.Leave("r1", "customer"));

        Sim.Options.PsrpcListParticipants = true;
        using var psrpc = await Twirp("ListParticipants", """{"room":"r1"}""", TestTokens.Admin("r1"));
        await AssertTwirpError(psrpc, 503, "unavailable");

        Assert.That(Sim.Rooms.Delete("r1"), Is.True, "DeleteRoom removes it from the store");
        Assert.That((await ListRooms()).GetArrayLength(), Is.Zero);
    }

    private static async Task Eventually(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }
}

/// <summary>The simulator's Date header is its own clock, so that a client can measure its offset from LiveKit (§8).</summary>
internal sealed class DateHeaderTests : SimulatorFixture
{
    private readonly ManualClock clock = new() { Now = DateTimeOffset.UtcNow.AddSeconds(-90) };

    protected override TimeProvider Clock() => clock;

    [Test]
    public async Task EveryAnswer_CarriesTheSimulatedServersTime()
    {
        using var response = await Twirp("ListRooms", "{}", null);

        Assert.That(response.Headers.Date, Is.EqualTo(clock.Now).Within(TimeSpan.FromSeconds(1)));
    }
}
