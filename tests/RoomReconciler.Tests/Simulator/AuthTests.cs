using RoomReconciler.Tests.Support;
using NUnit.Framework;

namespace RoomReconciler.Tests.Simulator;

/// <summary>The auth matrix of §1 and §3: bad tokens are plain-text 401s, missing grants Twirp unauthenticated.</summary>
internal sealed class AuthTests : SimulatorFixture
{
    private async Task<HttpResponseMessage> ListRoomsWithHeader(string authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "twirp/livekit.RoomService/ListRooms") { Content = new StringContent("{}") };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await Http.SendAsync(request);
    }

    [Test]
    public async Task A_header_without_Bearer_is_rejected_as_plain_text()
    {
        using var response = await ListRoomsWithHeader("Basic ZGV2a2V5OnNlY3JldA==");

        await AssertPlainUnauthorized(response, "invalid authorization header. Must start with Bearer \n");
    }

    [Test]
    public async Task A_raw_token_without_Bearer_is_rejected_as_plain_text()
    {
        using var response = await ListRoomsWithHeader(TestTokens.List());

        await AssertPlainUnauthorized(response, "invalid authorization header. Must start with Bearer ");
    }

    [Test]
    public async Task Something_that_is_not_a_JWT_is_an_invalid_token()
    {
        using var response = await ListRoomsWithHeader("Bearer not-a-jwt");

        await AssertPlainUnauthorized(response, "invalid authorization token");
    }

    [Test]
    public async Task An_unknown_key_is_an_invalid_API_key()
    {
        using var response = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, key: "otherkey"));

        await AssertPlainUnauthorized(response, "invalid API key");
    }

    [Test]
    public async Task A_bad_signature_is_an_invalid_token()
    {
        using var response = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, secret: "other-secret"));

        await AssertPlainUnauthorized(response, "invalid authorization token: ");
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("signature is invalid"));
    }

    [Test]
    public async Task An_expired_token_is_invalid_beyond_the_60_second_leeway()
    {
        using var expired = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, expiresIn: TimeSpan.FromSeconds(-90)));
        using var withinLeeway = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, expiresIn: TimeSpan.FromSeconds(-30)));

        await AssertPlainUnauthorized(expired, "invalid authorization token: ");
        Assert.That(await expired.Content.ReadAsStringAsync(), Does.Contain("token is expired"));
        Assert.That((int)withinLeeway.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task A_token_without_exp_is_invalid()
    {
        using var response = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, withExp: false));

        await AssertPlainUnauthorized(response, "invalid authorization token: ");
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("exp claim is required"));
    }

    [Test]
    public async Task A_token_not_yet_valid_beyond_the_leeway_is_invalid()
    {
        using var response = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, notBeforeIn: TimeSpan.FromSeconds(120)));

        await AssertPlainUnauthorized(response, "invalid authorization token: ");
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("not valid yet"));
    }

    [TestCase("none")]
    [TestCase("HS512")]
    public async Task Only_HS256_is_accepted(string alg)
    {
        using var response = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, alg: alg));

        await AssertPlainUnauthorized(response, "invalid authorization token: ");
    }

    [Test]
    public async Task The_short_dev_secret_and_the_access_token_query_parameter_work()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "twirp/livekit.RoomService/ListRooms?access_token=" + TestTokens.List())
        {
            Content = new StringContent("{}"),
        };
        request.Content.Headers.ContentType = new("application/json");
        using var response = await Http.SendAsync(request);

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task No_token_at_all_is_a_missing_grant()
    {
        using var response = await Twirp("ListRooms", "{}", token: null);

        await AssertTwirpError(response, 401, "unauthenticated", "permissions denied");
    }

    private static IEnumerable<TestCaseData> MissingGrants()
    {
        yield return new TestCaseData("ListRooms", "{}", new { roomAdmin = true, room = "r1" }).SetName("ListRooms without roomList");
        yield return new TestCaseData("ListParticipants", """{"room":"r1"}""", new { roomAdmin = true, room = "r2" }).SetName("ListParticipants with another room");
        yield return new TestCaseData("ListParticipants", """{"room":"r1"}""", new { room = "r1" }).SetName("ListParticipants without roomAdmin");
        yield return new TestCaseData("GetParticipant", """{"room":"r1","identity":"a"}""", new { roomList = true }).SetName("GetParticipant with roomList only");
        yield return new TestCaseData("RemoveParticipant", """{"room":"r1","identity":"a"}""", new { roomAdmin = true }).SetName("RemoveParticipant without room");
        yield return new TestCaseData("DeleteRoom", """{"room":"r1"}""", new { roomAdmin = true, room = "r1" }).SetName("DeleteRoom without roomCreate");
        yield return new TestCaseData("CreateRoom", """{"name":"r1"}""", new { roomList = true }).SetName("CreateRoom without roomCreate");
    }

    [TestCaseSource(nameof(MissingGrants))]
    public async Task A_missing_grant_is_twirp_unauthenticated(string method, string body, object video)
    {
        Sim.Rooms.Join("r1", "a");

        using var response = await Twirp(method, body, TestTokens.Mint(video));

        await AssertTwirpError(response, 401, "unauthenticated", "permissions denied");
        Assert.That(Sim.Rooms.Participant("r1", "a"), Is.Not.Null);
    }
}
