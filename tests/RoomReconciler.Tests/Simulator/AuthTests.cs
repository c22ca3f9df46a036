using NUnit.Framework;
using RoomReconciler.Tests.Support;

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

    private static IEnumerable<TestCaseData> RefusedAuthorizations()
    {
        TestCaseData Header(Func<string> header, string bodyStart, string name) =>
            new TestCaseData(header, bodyStart, null).SetName(name);
        TestCaseData Token(Func<string> token, string bodyStart, string? detail, string name) =>
            new TestCaseData((Func<string>)(() => "Bearer " + token()), bodyStart, detail).SetName(name);

        yield return Header(() => "Basic ZGV2a2V5OnNlY3JldA==", "invalid authorization header. Must start with Bearer \n",
            "AHeaderWithoutBearer_IsRejectedAsPlainText");
        yield return Header(TestTokens.List, "invalid authorization header. Must start with Bearer ",
            "ARawTokenWithoutBearer_IsRejectedAsPlainText");
        yield return Header(() => "Bearer not-a-jwt", "invalid authorization token", "SomethingThatIsNotAJwt_IsAnInvalidToken");
        yield return Token(() => TestTokens.Mint(new { roomList = true }, key: "otherkey"), "invalid API key", null,
            "AnUnknownKey_IsAnInvalidApiKey");
        yield return Token(() => TestTokens.Mint(new { roomList = true }, secret: "other-secret"), "invalid authorization token: ",
            "signature is invalid", "ABadSignature_IsAnInvalidToken");
        yield return Token(() => TestTokens.Mint(new { roomList = true }, withExp: false), "invalid authorization token: ",
            "exp claim is required", "ATokenWithoutExp_IsInvalid");
        yield return Token(() => TestTokens.Mint(new { roomList = true }, notBeforeIn: TimeSpan.FromSeconds(120)), "invalid authorization token: ",
            "not valid yet", "ATokenNotYetValidBeyondTheLeeway_IsInvalid");
        foreach (var alg in new[] { "none", "HS512" })
            yield return Token(() => TestTokens.Mint(new { roomList = true }, alg: alg), "invalid authorization token: ", null,
                $"OnlyHs256_IsAccepted({alg})");
    }

    /// <summary>Every refused Authorization header is a plain-text 401 whose body starts as LiveKit's does.</summary>
    [TestCaseSource(nameof(RefusedAuthorizations))]
    public async Task RefusedAuthorization_IsAPlainText401(Func<string> authorization, string bodyStart, string? detail)
    {
        using var response = await ListRoomsWithHeader(authorization());

        await AssertPlainUnauthorized(response, bodyStart);
        if (detail is not null) Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain(detail));
    }

    [Test]
    public async Task AnExpiredToken_IsInvalidBeyondThe60SecondLeeway()
    {
        using var expired = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, expiresIn: TimeSpan.FromSeconds(-90)));
        using var withinLeeway = await Twirp("ListRooms", "{}", TestTokens.Mint(new { roomList = true }, expiresIn: TimeSpan.FromSeconds(-30)));

        await AssertPlainUnauthorized(expired, "invalid authorization token: ");
        Assert.That(await expired.Content.ReadAsStringAsync(), Does.Contain("token is expired"));
        Assert.That((int)withinLeeway.StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task TheShortDevSecretAndTheAccessTokenQueryParameter_Work()
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
    public async Task NoTokenAtAll_IsAMissingGrant()
    {
        using var response = await Twirp("ListRooms", "{}", token: null);

        await AssertTwirpError(response, 401, "unauthenticated", "permissions denied");
    }

    private static IEnumerable<TestCaseData> MissingGrants()
    {
        yield return new TestCaseData("ListRooms", "{}", new { roomAdmin = true, room = "r1" }).SetName("ListRooms_WithoutRoomList");
        yield return new TestCaseData("ListParticipants", """{"room":"r1"}""", new { roomAdmin = true, room = "r2" }).SetName("ListParticipants_WithAnotherRoom");
        yield return new TestCaseData("ListParticipants", """{"room":"r1"}""", new { room = "r1" }).SetName("ListParticipants_WithoutRoomAdmin");
        yield return new TestCaseData("GetParticipant", """{"room":"r1","identity":"a"}""", new { roomList = true }).SetName("GetParticipant_WithRoomListOnly");
        yield return new TestCaseData("RemoveParticipant", """{"room":"r1","identity":"a"}""", new { roomAdmin = true }).SetName("RemoveParticipant_WithoutRoom");
        yield return new TestCaseData("DeleteRoom", """{"room":"r1"}""", new { roomAdmin = true, room = "r1" }).SetName("DeleteRoom_WithoutRoomCreate");
        yield return new TestCaseData("CreateRoom", """{"name":"r1"}""", new { roomList = true }).SetName("CreateRoom_WithoutRoomCreate");
    }

    [TestCaseSource(nameof(MissingGrants))]
    public async Task AMissingGrant_IsTwirpUnauthenticated(string method, string body, object video)
    {
        Sim.Rooms.Join("r1", "a");

        using var response = await Twirp(method, body, TestTokens.Mint(video));

        await AssertTwirpError(response, 401, "unauthenticated", "permissions denied");
        Assert.That(Sim.Rooms.Participant("r1", "a"), Is.Not.Null);
    }
}
