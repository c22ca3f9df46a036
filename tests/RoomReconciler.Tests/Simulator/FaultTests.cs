using System.Diagnostics;
using System.Text.Json;
using LiveKitSimulator;
using NUnit.Framework;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Simulator;

internal sealed class FaultTests : SimulatorFixture
{
    [TestCase(FaultKind.Internal, 500, "internal")]
    [TestCase(FaultKind.Unavailable, 503, "unavailable")]
    public async Task ACountedFault_FailsThatManyCallsOfItsMethodOnly(FaultKind kind, int status, string code)
    {
        Sim.Faults.Inject(kind, "ListRooms", count: 2);

        using var first = await Twirp("ListRooms", "{}", TestTokens.List());
        using var second = await Twirp("ListRooms", "{}", TestTokens.List());
        using var other = await Twirp("ListParticipants", """{"room":"r1"}""", TestTokens.Admin("r1"));
        using var third = await Twirp("ListRooms", "{}", TestTokens.List());

        await AssertTwirpError(first, status, code);
        await AssertTwirpError(second, status, code);
        Assert.That((int)other.StatusCode, Is.EqualTo(200));
        Assert.That((int)third.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task Garbage_IsA200WhoseBodyIsNotJson()
    {
        Sim.Faults.Inject(FaultKind.Garbage, "ListRooms", count: 1);

        using var response = await Twirp("ListRooms", "{}", TestTokens.List());
        var text = await response.Content.ReadAsStringAsync();

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        Assert.That(() => JsonDocument.Parse(text), Throws.InstanceOf<JsonException>());
    }

    [Test]
    public async Task Unauthorized_IsAPlainText401EvenWithAGoodToken()
    {
        Sim.Faults.Inject(FaultKind.Unauthorized, count: 1);

        using var response = await Twirp("ListRooms", "{}", TestTokens.List());

        await AssertPlainUnauthorized(response, "invalid authorization token");
    }

    [Test]
    public async Task AHangWithoutDelay_NeverAnswersUntilTheClientGivesUp()
    {
        Sim.Faults.Inject(FaultKind.Hang, "ListRooms");
        using var impatient = new HttpClient { BaseAddress = Http.BaseAddress, Timeout = TimeSpan.FromMilliseconds(300) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "twirp/livekit.RoomService/ListRooms") { Content = new StringContent("{}") };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("Authorization", "Bearer " + TestTokens.List());

        Assert.That(async () => await impatient.SendAsync(request), Throws.InstanceOf<TaskCanceledException>());
        Sim.Faults.Clear();
        Assert.That((int)(await Twirp("ListRooms", "{}", TestTokens.List())).StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task AHangWithADelay_AnswersNormallyAfterIt()
    {
        Sim.Faults.Inject(FaultKind.Hang, "ListRooms", count: 1, delay: TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        var rooms = await ListRooms();

        Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)));
        Assert.That(rooms.GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task AFaultForAllMethods_LastsUntilClearedAndAMethodFaultTakesPrecedence()
    {
        Sim.Faults.Inject(FaultKind.Unavailable);
        Sim.Faults.Inject(FaultKind.Internal, "ListParticipants");

        for (var i = 0; i < 3; i++)
        {
            using var rooms = await Twirp("ListRooms", "{}", TestTokens.List());
            await AssertTwirpError(rooms, 503, "unavailable");
        }
        using var participants = await Twirp("ListParticipants", """{"room":"r1"}""", TestTokens.Admin("r1"));
        await AssertTwirpError(participants, 500, "internal");

        Sim.Faults.Clear();
        Assert.That((await ListRooms()).GetArrayLength(), Is.Zero);
        Assert.That(Sim.Calls["ListRooms"], Is.EqualTo(4), "faulted calls count too");
    }
}
