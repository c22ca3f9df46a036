using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>The RoomService client over real HTTP against <see cref="FakeLiveKit"/>, wired exactly as the daemon wires it.</summary>
public sealed class RoomServiceClientTests
{
    /// <summary>Short, so that the timeout budget (80% of it) is quick to exhaust.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private FakeLiveKit _fake = null!;
    private ServiceProvider _services = null!;
    private ManualClock _time = null!;

    [SetUp]
    public async Task StartFake()
    {
        _fake = await FakeLiveKit.StartAsync();
        _time = new ManualClock(DateTimeOffset.UtcNow);
        _services = Services(_fake.Url.ToString(), _time);
    }

    [TearDown]
    public async Task StopFake()
    {
        await _services.DisposeAsync();
        await _fake.DisposeAsync();
    }

    private static ServiceProvider Services(string url, TimeProvider? time = null, ClockDatabase? budgetDatabase = null, int perMinute = 0)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LiveKit:Url"] = url,
            ["LiveKit:ApiKey"] = TestTokens.ApiKey,
            ["LiveKit:ApiSecret"] = TestTokens.Secret,
            ["LiveKit:RequestsPerMinute"] = perMinute.ToString(),
        }).Build();
        var services = new ServiceCollection().AddLogging().AddSingleton(RoomServiceBudget.For(PollInterval));
        if (time is not null) services.AddSingleton(time);
        if (budgetDatabase is not null) services.AddSingleton(budgetDatabase.DataSource);
        return services.AddLiveKit(configuration).BuildServiceProvider();
    }

    private RoomServiceClient Client => _services.GetRequiredService<RoomServiceClient>();

    private RecordedRequest[] Requests => _fake.Requests.ToArray();

    // ---- requests

    [Test]
    public async Task ListRooms_PostsTwirpJsonWithEmptyObjectForAllRooms()
    {
        await Client.ListRooms(null, CancellationToken.None);
        var request = Requests.Single();
        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(request.Path, Is.EqualTo("/twirp/livekit.RoomService/ListRooms"));
        Assert.That(request.ContentType, Is.EqualTo("application/json"));
        Assert.That(request.Authorization, Does.StartWith("Bearer "));
        Assert.That(request.Body, Is.EqualTo("{}"));
    }

    [Test]
    public async Task Requests_CarryTheirArguments()
    {
        await Client.ListRooms(["a", "b"], CancellationToken.None);
        await Client.ListParticipants("r1", CancellationToken.None);
        Assert.That(Requests.Select(r => (r.Path, r.Body)), Is.EqualTo(new[]
        {
            ("/twirp/livekit.RoomService/ListRooms", """{"names":["a","b"]}"""),
            ("/twirp/livekit.RoomService/ListParticipants", """{"room":"r1"}"""),
        }));
    }

    [TestCase("ws")]
    [TestCase("http")]
    public async Task Url_HttpOrWebSocketScheme(string scheme)
    {
        await using var services = Services($"{scheme}://127.0.0.1:{_fake.Url.Port}");
        await services.GetRequiredService<RoomServiceClient>().ListRooms(null, CancellationToken.None);
        Assert.That(Requests, Has.Length.EqualTo(1));
    }

    // ---- tokens

    private JsonElement TokenClaims(int request) => TestTokens.Claims(Requests[request].Authorization["Bearer ".Length..]);

    [Test]
    public async Task ListRoomsToken_RoomListOnly()
    {
        await Client.ListRooms(null, CancellationToken.None);
        var claims = TokenClaims(0);
        var now = _time.Now.ToUnixTimeSeconds();
        Assert.Multiple(() =>
        {
            Assert.That(claims.GetProperty("iss").GetString(), Is.EqualTo(TestTokens.ApiKey));
            // Set back by LiveKit's leeway, so that a LiveKit clock behind ours still accepts it (docs/livekit.md §8).
            Assert.That(claims.GetProperty("nbf").GetInt64(), Is.EqualTo(now - (long)ServerTokens.ClockSkewAllowance.TotalSeconds));
            Assert.That(claims.GetProperty("iat").GetInt64(), Is.EqualTo(now - (long)ServerTokens.ClockSkewAllowance.TotalSeconds));
            Assert.That(claims.GetProperty("exp").GetInt64(), Is.EqualTo(now + (long)ServerTokens.Lifetime.TotalSeconds));
            Assert.That(claims.GetProperty("video").GetRawText(), Is.EqualTo("""{"roomList":true}"""));
            Assert.That(claims.TryGetProperty("sub", out _), Is.False);
        });
        var verified = new TokenVerifier(TestTokens.ApiKey, TestTokens.Secret, _time).Verify(Requests[0].Authorization[7..]);
        Assert.That(verified.Video, Is.EqualTo(new VideoGrants { RoomList = true }));
    }

    [Test]
    public async Task ParticipantTokens_RoomAdminForThatRoomOnly()
    {
        await Client.ListParticipants("r1", CancellationToken.None);
        await Client.ListParticipants("r2", CancellationToken.None);
        Assert.That(TokenClaims(0).GetProperty("video").GetRawText(), Is.EqualTo("""{"roomAdmin":true,"room":"r1"}"""));
        Assert.That(TokenClaims(1).GetProperty("video").GetRawText(), Is.EqualTo("""{"roomAdmin":true,"room":"r2"}"""));
        Assert.That(TokenClaims(1).TryGetProperty("sub", out _), Is.False);
        Assert.That(TokenClaims(1).GetProperty("exp").GetInt64(), Is.GreaterThan(_time.Now.ToUnixTimeSeconds()));
    }

    [Test]
    public async Task Tokens_ReusedPerKindAndRoom_RenewedBeforeExpiry()
    {
        await Client.ListRooms(null, CancellationToken.None);
        await Client.ListRooms(null, CancellationToken.None);
        await Client.ListParticipants("r1", CancellationToken.None);
        await Client.ListParticipants("r1", CancellationToken.None);
        await Client.ListParticipants("r2", CancellationToken.None);
        _time.Now += ServerTokens.Lifetime - ServerTokens.RenewBefore - TimeSpan.FromSeconds(1);
        await Client.ListRooms(null, CancellationToken.None);
        _time.Now += TimeSpan.FromSeconds(1);
        await Client.ListRooms(null, CancellationToken.None);

        var tokens = Requests.Select(r => r.Authorization).ToArray();
        Assert.That(tokens[1], Is.EqualTo(tokens[0]), "ListRooms reuses its token");
        Assert.That(tokens[3], Is.EqualTo(tokens[2]), "one room reuses its token");
        Assert.That(tokens[4], Is.Not.EqualTo(tokens[2]), "another room has its own");
        Assert.That(tokens[5], Is.EqualTo(tokens[0]), "still reused just before the renewal point");
        Assert.That(tokens[6], Is.Not.EqualTo(tokens[0]), "renewed at the renewal point");
        Assert.That(TokenClaims(6).GetProperty("exp").GetInt64(), Is.EqualTo(_time.Now.ToUnixTimeSeconds() + (long)ServerTokens.Lifetime.TotalSeconds));
    }

    [Test]
    public async Task Tokens_CachedUnderConcurrentCalls()
    {
        // Tokens minted in the same second are identical, so the clock moves on: a reused token is an old one.
        await Client.ListParticipants("r0", CancellationToken.None);
        var cached = Requests[0].Authorization;
        _time.Now += TimeSpan.FromMinutes(1);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Client.ListParticipants("r" + i % 4, CancellationToken.None)));
        var byRoom = Requests.Skip(1).GroupBy(r => r.Body).ToDictionary(g => g.Key, g => g.Select(r => r.Authorization).Distinct().ToList());
        Assert.That(byRoom, Has.Count.EqualTo(4));
        Assert.That(byRoom["""{"room":"r0"}"""], Is.EqualTo(new[] { cached }));
        Assert.That(byRoom.Values, Has.All.Count.EqualTo(1));
    }

    // ---- golden responses

    [Test]
    public async Task ListRooms_SnakeCaseGolden()
    {
        _fake.Respond = FakeLiveKit.Reply(200, Golden.ListRoomsSnake);
        var room = (await Client.ListRooms(null, CancellationToken.None)).Single();
        Assert.That((room.Name, room.EmptyTimeout, room.CreationTime, room.CreationTimeMs, room.NumParticipants),
            Is.EqualTo(("session-1", 300u, 1694522628L, 1694522628345L, 2u)));
    }

    [Test]
    public async Task ListRooms_CamelCaseGolden()
    {
        _fake.Respond = FakeLiveKit.Reply(200, Golden.ListRoomsCamel);
        var room = (await Client.ListRooms(null, CancellationToken.None)).Single();
        Assert.That((room.Name, room.CreationTimeMs, room.NumParticipants), Is.EqualTo(("session-1", 1694522628000L, 2u)));
    }

    [TestCase("{}")]
    [TestCase("""{"rooms":[]}""")]
    [TestCase("""{"rooms":null}""")]
    public async Task ListRooms_NoRooms(string body)
    {
        _fake.Respond = FakeLiveKit.Reply(200, body);
        Assert.That(await Client.ListRooms(null, CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task ListParticipants_Golden()
    {
        _fake.Respond = FakeLiveKit.Reply(200, Golden.ListParticipantsSnake);
        var participants = await Client.ListParticipants("session-1", CancellationToken.None);
        Assert.That(participants.Select(p => (p.Identity, p.Kind, p.State, p.IsHidden)), Is.EqualTo(new[]
        {
            ("customer", ParticipantKind.Standard, ParticipantState.Active, false),
            ("recorder", ParticipantKind.Egress, ParticipantState.Joined, true),
            ("future", (ParticipantKind)99, (ParticipantState)9, false),
        }));
    }

    // ---- not found is an answer, not an error

    [Test]
    public async Task ListParticipants_UnknownRoom404_IsEmpty()
    {
        _fake.Respond = FakeLiveKit.TwirpError(404, "not_found", "requested room does not exist");
        Assert.That(await Client.ListParticipants("gone", CancellationToken.None), Is.Empty);
    }

    /// <summary>psrpc: ListParticipants answers unavailable, ListRooms gets the rest.</summary>
    private void PsrpcRoom(string listRoomsBody) => _fake.Respond = context =>
        context.Request.Path.Value!.EndsWith("/ListParticipants", StringComparison.Ordinal)
            ? FakeLiveKit.TwirpError(503, "unavailable", "no response from servers")(context)
            : FakeLiveKit.Reply(200, listRoomsBody)(context);

    [Test]
    public async Task ListParticipants_UnavailableForARoomListRoomsDoesNotList_IsEmpty()
    {
        PsrpcRoom("""{"rooms":[]}""");
        Assert.That(await Client.ListParticipants("closed", CancellationToken.None), Is.Empty);
        var confirm = Requests.Last();
        Assert.That((confirm.Path, confirm.Body), Is.EqualTo(("/twirp/livekit.RoomService/ListRooms", """{"names":["closed"]}""")));
    }

    [Test]
    public async Task ListParticipants_UnavailableForAListedRoom_StaysUnknown()
    {
        PsrpcRoom("""{"rooms":[{"sid":"RM_1","name":"r1","num_participants":2}]}""");
        try
        {
            await Client.ListParticipants("r1", CancellationToken.None);
            Assert.Fail("a listed room that cannot be read is unknown, not empty");
        }
        catch (LiveKitException e) { Assert.That(e.Kind, Is.EqualTo(LiveKitErrorKind.Unavailable)); }
    }

    // ---- faults

    /// <summary>The LiveKitException ListRooms ends in; any other exception escapes and fails the test.</summary>
    private async Task<LiveKitException> ListRoomsFails()
    {
        try { await Client.ListRooms(null, CancellationToken.None); }
        catch (LiveKitException e) { return e; }
        Assert.Fail("ListRooms succeeded");
        return null!;
    }

    [Test]
    public async Task ListRooms_NotFoundIsAnError()
    {
        _fake.Respond = FakeLiveKit.TwirpError(404, "not_found", "nothing");
        Assert.That((await ListRoomsFails()).Kind, Is.EqualTo(LiveKitErrorKind.NotFound));
    }

    [TestCase(503, "unavailable", LiveKitErrorKind.Unavailable, 3)]
    [TestCase(500, "internal", LiveKitErrorKind.Internal, 3)]
    [TestCase(401, "unauthenticated", LiveKitErrorKind.Unauthenticated, 1)]
    [TestCase(404, "bad_route", LiveKitErrorKind.BadRoute, 1)]
    [TestCase(400, "malformed", LiveKitErrorKind.Malformed, 1)]
    [TestCase(429, "resource_exhausted", LiveKitErrorKind.ResourceExhausted, 1)]
    [TestCase(412, "failed_precondition", LiveKitErrorKind.FailedPrecondition, 1)]
    [TestCase(500, "a_code_from_2030", LiveKitErrorKind.Unknown, 3)]
    public async Task TwirpErrors_TypedByCode_TransientOnesRetried(int status, string code, LiveKitErrorKind kind, int attempts)
    {
        _fake.Respond = FakeLiveKit.TwirpError(status, code, "permissions denied");
        var e = await ListRoomsFails();
        Assert.That((e.Kind, e.TwirpCode, e.HttpStatus), Is.EqualTo((kind, code, (int?)status)));
        Assert.That(e.Message, Does.Contain("permissions denied"));
        Assert.That(Requests, Has.Length.EqualTo(attempts));
    }

    [TestCase(0, 3, 3, TestName = "RetriedAttempts_SpendFromTheRequestBudget(room for all three)")]
    [TestCase(8, 1, 9, TestName = "RetriedAttempts_SpendFromTheRequestBudget(room for the first only)")]
    public async Task RetriedAttempts_SpendFromTheRequestBudget(int spentBefore, int attempts, int spentAfter)
    {
        // 10 a minute: ListRooms (Listing priority) may bring the window to 9. An outage is retried twice while the
        // window has room, each attempt spent; with none left the call ends after its first attempt.
        await using var db = await ClockDatabase.CreateAsync();
        await using var services = Services(_fake.Url.ToString(), budgetDatabase: db, perMinute: 10);
        if (spentBefore > 0) await services.GetRequiredService<RequestBudget>().TakeUpToAsync(RequestPriority.GraceDeadline, spentBefore, CancellationToken.None);
        _fake.Respond = FakeLiveKit.TwirpError(500, "internal", "node is restarting");

        var e = Assert.ThrowsAsync<LiveKitException>(() => services.GetRequiredService<RoomServiceClient>().ListRooms(null, CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(LiveKitErrorKind.Internal), "the outage it met, not a budget error");
        Assert.That(Requests, Has.Length.EqualTo(attempts));
        await using var spent = db.DataSource.CreateCommand("SELECT coalesce(sum(calls), 0)::int FROM roomreconciler.livekit_requests");
        Assert.That(await spent.ExecuteScalarAsync(), Is.EqualTo(spentAfter), "every attempt made was spent, and no other");
    }

    [Test]
    public void EveryTwirpCode_HasItsKind()
    {
        string[] codes = ["canceled", "unknown", "invalid_argument", "malformed", "deadline_exceeded", "not_found", "bad_route",
            "already_exists", "permission_denied", "unauthenticated", "resource_exhausted", "failed_precondition", "aborted",
            "out_of_range", "unimplemented", "internal", "unavailable", "data_loss"];
        Assert.That(codes.Select(LiveKitException.FromTwirpCode).Distinct().Count(), Is.EqualTo(codes.Length));
        Assert.That(LiveKitException.FromTwirpCode("data_loss"), Is.EqualTo(LiveKitErrorKind.DataLoss));
    }

    [Test]
    public async Task PlainText401_IsUnauthenticated()
    {
        _fake.Respond = FakeLiveKit.Reply(401, "invalid authorization token: token is expired", "text/plain; charset=utf-8");
        var e = await ListRoomsFails();
        Assert.That((e.Kind, e.TwirpCode, e.HttpStatus), Is.EqualTo((LiveKitErrorKind.Unauthenticated, (string?)null, (int?)401)));
        Assert.That(e.Message, Does.Contain("token is expired"));
    }

    [Test]
    public async Task HtmlFromAProxy_MappedByStatus()
    {
        _fake.Respond = FakeLiveKit.Reply(502, "<html><body>Bad Gateway</body></html>", "text/html");
        Assert.That((await ListRoomsFails()).Kind, Is.EqualTo(LiveKitErrorKind.Unavailable));
    }

    [TestCase("this is not json")]
    [TestCase("{\"rooms\":[{\"name\":")]
    [TestCase("null")]
    [TestCase("[1,2]")]
    [TestCase("")]
    [TestCase("""{"rooms":"many"}""")]
    public async Task GarbageWith200_IsMalformedResponse(string body)
    {
        _fake.Respond = FakeLiveKit.Reply(200, body);
        Assert.That((await ListRoomsFails()).Kind, Is.EqualTo(LiveKitErrorKind.MalformedResponse));
    }

    [Test]
    public async Task Hang_TimesOutWithinTheBudget()
    {
        _fake.Respond = FakeLiveKit.Hang;
        var budget = RoomServiceBudget.For(PollInterval);
        var watch = Stopwatch.StartNew();
        var e = await ListRoomsFails();
        watch.Stop();
        Assert.That(e.Kind, Is.EqualTo(LiveKitErrorKind.Timeout));
        Assert.That(watch.Elapsed, Is.LessThan(PollInterval), "a call never outlasts the poll interval");
        Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(budget.Attempt - TimeSpan.FromMilliseconds(20)));
        Assert.That(Requests.Length, Is.GreaterThan(1), "a timed-out attempt is retried while the budget lasts");
    }

    [Test]
    public async Task ServerDown_CircuitOpens_CallsFailFastWithoutReachingIt()
    {
        _fake.Respond = FakeLiveKit.TwirpError(503, "unavailable", "node is draining");
        for (var call = 0; call < 10; call++)
        {
            if ((await ListRoomsFails()).Kind != LiveKitErrorKind.Transport) continue;
            // Open (it may have opened between two attempts of that call): the next call never reaches LiveKit.
            Assert.That(call, Is.GreaterThanOrEqualTo(3), "10 failed attempts are needed to judge");
            var before = Requests.Length;
            Assert.That((await ListRoomsFails()).Kind, Is.EqualTo(LiveKitErrorKind.Transport));
            Assert.That(Requests, Has.Length.EqualTo(before));
            return;
        }
        Assert.Fail("the circuit never opened");
    }

    [Test]
    public async Task BurstOf429s_IsNeverRetried_NorOpensTheCircuit()
    {
        _fake.Respond = FakeLiveKit.TwirpError(429, "resource_exhausted", "rate limit exceeded");
        for (var call = 0; call < 30; call++)
            Assert.That((await ListRoomsFails()).Kind, Is.EqualTo(LiveKitErrorKind.ResourceExhausted), $"call {call}: throttled, never a broken circuit");
        Assert.That(Requests, Has.Length.EqualTo(30), "each throttled call was sent once: no retry storm");
        _fake.Respond = FakeLiveKit.Reply(200, """{"rooms":[]}""");
        Assert.That(await Client.ListRooms(null, CancellationToken.None), Is.Empty, "the circuit is closed: the next call reaches LiveKit");
    }

    [Test]
    public async Task BurstOfClosedRoomsUnavailable_IsAnAnswer_NeverRetriedNorOpensTheCircuit()
    {
        // psrpc's answer for a room no node hosts; ListRooms with its name then says it is closed.
        _fake.Respond = context => context.Request.Path.Value!.EndsWith("/ListParticipants", StringComparison.Ordinal)
            ? FakeLiveKit.TwirpError(503, "unavailable", "no response from servers")(context)
            : FakeLiveKit.Reply(200, """{"rooms":[]}""")(context);
        for (var room = 0; room < 30; room++)
            Assert.That(await Client.ListParticipants("closed-" + room, CancellationToken.None), Is.Empty, "a closed room is empty");
        Assert.That(Requests.Count(r => r.Path.EndsWith("/ListParticipants", StringComparison.Ordinal)), Is.EqualTo(30), "not retried");
        Assert.That(Requests, Has.Length.EqualTo(60), "one ListParticipants and one ListRooms a room, and the circuit never opened");
    }

    [Test]
    public async Task ATimeout_SaysTheTimeBudgetItRanOutOf()
    {
        _fake.Respond = FakeLiveKit.Hang;
        var e = await ListRoomsFails();
        var budget = RoomServiceBudget.For(PollInterval);
        Assert.That((e.Kind, e.Message), Is.EqualTo((LiveKitErrorKind.Timeout,
            $"LiveKit ListRooms: no answer within the time budget ({budget.Attempt.TotalSeconds:0.###} s an attempt, {budget.Total.TotalSeconds:0.###} s in all)")));
    }

    [Test]
    public async Task ConnectionRefused_IsTransport()
    {
        await using var services = Services("http://127.0.0.1:1");
        var e = Assert.ThrowsAsync<LiveKitException>(() =>
            services.GetRequiredService<RoomServiceClient>().ListRooms(null, CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(LiveKitErrorKind.Transport));
    }

    [Test]
    public void CallersCancellation_IsNotAnError()
    {
        _fake.Respond = FakeLiveKit.Hang;
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.That(() => Client.ListRooms(null, cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Check_OneLineProblem()
    {
        _fake.Respond = FakeLiveKit.Reply(401, "invalid API key", "text/plain");
        var check = _services.GetServices<RoomReconciler.Hosting.IStartupCheck>().OfType<LiveKitCheck>().Single();
        var problem = (await check.CheckAsync(CancellationToken.None)).Failure;
        Assert.That(problem, Does.Contain("invalid API key").And.Contain("LiveKit:ApiSecret").And.Not.Contain("\n"));
        _fake.Respond = FakeLiveKit.Reply(200, "{}");
        Assert.That((await check.CheckAsync(CancellationToken.None)).Failure, Is.Null);
    }

    [TestCase(10, 8000, 2500)]
    [TestCase(1, 800, 250)]
    [TestCase(600, 480000, 10000)]
    public void Budget_TotalBelowPollInterval_AttemptBelowTotal(int pollSeconds, int totalMs, int attemptMs)
    {
        var budget = RoomServiceBudget.For(TimeSpan.FromSeconds(pollSeconds));
        Assert.That((budget.Total, budget.Attempt),
            Is.EqualTo((TimeSpan.FromMilliseconds(totalMs), TimeSpan.FromMilliseconds(attemptMs))));
        Assert.That(budget.SamplingDuration, Is.GreaterThanOrEqualTo(budget.Attempt * 2));
    }
}
