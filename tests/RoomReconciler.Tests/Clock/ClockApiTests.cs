using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Clock;

/// <summary>GET /clock/{id}: the contract answers, against the real host over real HTTP and a real database.</summary>
public sealed partial class ClockApiTests
{
    private ClockDatabase _db = null!;
    private ClockHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _db = await ClockDatabase.CreateAsync();
        _host = await ClockHost.StartAsync(_db.ConnectionString);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        await _db.DisposeAsync();
    }

    private static readonly string[] Keys =
        ["session_id", "started_at", "ended_at", "is_paused", "total_paused_ms", "last_state_change_at", "server_now", "elapsed_ms"];

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")]
    private static partial Regex IsoMillis();

    private async Task<JsonElement> GetOkAsync(Guid session)
    {
        using var response = await _host.GetClockAsync(session);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Test]
    public async Task Snapshot_HasTheKeysOfSessionClockGet_InIsoMillis_NotStored()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, null);
        await GetWhenAsync(session, c => c.Time("started_at") is not null);
        using var response = await _host.GetClockAsync(session);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(body.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(Keys));
        Assert.That(body.EnumerateObject().Select(p => p.Name), Is.EquivalentTo((await _db.GetAsync(session)).EnumerateObject().Select(p => p.Name)));
        Assert.That(body.GetProperty("session_id").GetString(), Is.EqualTo(session.ToString("D")));
        foreach (var key in new[] { "started_at", "last_state_change_at", "server_now" })
            Assert.That(body.GetProperty(key).GetString(), Does.Match(IsoMillis()), key);
        Assert.That(body.GetProperty("ended_at").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [TestCase("not-a-uuid")]
    [TestCase("3f2504e04f8941d39a0c0305e82c3301")] // a UUID, but not the canonical form a room name is built from
    [TestCase("{3f2504e0-4f89-41d3-9a0c-0305e82c3301}")]
    [TestCase("3f2504e0-4f89-41d3-9a0c-0305e82c33011")]
    [TestCase("%00")]
    [TestCase("ÿÿÿ")]
    public async Task MalformedId_Is400(string id)
    {
        using var response = await _host.GetAsync($"/clock/{Uri.EscapeDataString(id)}", ClockHost.TokenForRoom("any"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
    }

    [Test]
    public async Task HugeId_Is400()
    {
        using var response = await _host.GetAsync("/clock/" + new string('a', 6000), ClockHost.TokenForRoom("any"));
        Assert.That((int)response.StatusCode, Is.EqualTo(400));
    }

    [Test]
    public async Task UnknownSession_Is404()
    {
        var unknown = Guid.NewGuid();
        using var response = await _host.GetClockAsync(unknown);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        // Asked twice: the second answer may come from the negative cache, and must agree.
        using var again = await _host.GetClockAsync(unknown);
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task UnknownSession_ThatIsThenCreated_IsFound()
    {
        var id = Guid.NewGuid();
        using (var before = await _host.GetClockAsync(id)) Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        await using (var insert = _db.DataSource.CreateCommand("INSERT INTO sessions (id) VALUES ($1)"))
        {
            insert.Parameters.AddWithValue(id);
            await insert.ExecuteNonQueryAsync();
        }
        // The insert's notification replaces the cached "unknown".
        Assert.That(await StatusOnceNotifiedAsync(id, HttpStatusCode.OK), Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task DeletedSession_Is404()
    {
        var session = await _db.NewSessionAsync();
        await GetOkAsync(session);
        await using (var delete = _db.DataSource.CreateCommand("DELETE FROM sessions WHERE id = $1"))
        {
            delete.Parameters.AddWithValue(session);
            await delete.ExecuteNonQueryAsync();
        }
        Assert.That(await StatusOnceNotifiedAsync(session, HttpStatusCode.NotFound), Is.EqualTo(HttpStatusCode.NotFound));
    }

    /// <summary>The status of GET, asked until it is <paramref name="expected"/> or a second has passed (the notification's latency).</summary>
    private async Task<HttpStatusCode> StatusOnceNotifiedAsync(Guid session, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(1);
        while (true)
        {
            using var response = await _host.GetClockAsync(session);
            if (response.StatusCode == expected || DateTime.UtcNow > deadline) return response.StatusCode;
        }
    }

    public static IEnumerable<TestCaseData> BadTokens()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string Payload(Guid s) =>
            $$"""{"iss":"devkey","sub":"c","nbf":{{now}},"exp":{{now + 3600}},"video":{"roomJoin":true,"room":"{{s}}"} }""";
        yield return new TestCaseData((Func<Guid, string?>)(_ => null)).SetName("401_NoToken");
        yield return new TestCaseData((Func<Guid, string?>)(_ => "garbage")).SetName("401_NotAJwt");
        yield return new TestCaseData((Func<Guid, string?>)(_ => "a.b.c")).SetName("401_NotBase64Json");
        yield return new TestCaseData((Func<Guid, string?>)(s => ClockHost.Token(s, issuedAt: DateTimeOffset.UtcNow.AddHours(-3)))).SetName("401_Expired");
        yield return new TestCaseData((Func<Guid, string?>)(s => ClockHost.Token(s, secret: "not-the-secret"))).SetName("401_WrongSecret");
        yield return new TestCaseData((Func<Guid, string?>)(s => TestTokens.Sign(Payload(s), alg: "none"))).SetName("401_AlgNone");
        yield return new TestCaseData((Func<Guid, string?>)(s => TestTokens.Sign(Payload(s), alg: "HS512"))).SetName("401_OtherAlg");
        yield return new TestCaseData((Func<Guid, string?>)(s => TestTokens.Sign(
            $$"""{"iss":"devkey","video":{"roomJoin":true,"room":"{{s}}"} }"""))).SetName("401_NoExpiry");
        yield return new TestCaseData((Func<Guid, string?>)(s => TestTokens.Sign(
            Payload(s).Replace("devkey", "otherkey")))).SetName("401_UnknownApiKey");
        yield return new TestCaseData((Func<Guid, string?>)(s => ClockHost.Token(s)[..^2])).SetName("401_TruncatedSignature");
    }

    [TestCaseSource(nameof(BadTokens))]
    public async Task InvalidToken_Is401(Func<Guid, string?> token)
    {
        var session = await _db.NewSessionAsync();
        using var response = await _host.GetAsync($"/clock/{session}", token(session));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
    }

    [Test]
    public async Task TokenForAnotherRoom_Is403()
    {
        var session = await _db.NewSessionAsync();
        using var other = await _host.GetAsync($"/clock/{session}", ClockHost.Token(Guid.NewGuid()));
        Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var noJoin = await _host.GetAsync($"/clock/{session}", ClockHost.Token(session, roomJoin: false));
        Assert.That(noJoin.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var upperCase = await _host.GetAsync($"/clock/{session}", ClockHost.TokenForRoom(session.ToString("D").ToUpperInvariant()));
        Assert.That(upperCase.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task TokenInQueryString_IsAccepted_ForEventSourceClients()
    {
        var session = await _db.NewSessionAsync();
        using var response = await _host.GetAsync($"/clock/{session}?access_token={ClockHost.Token(session)}", token: null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task TokenIsNotNeeded_WhenRequireTokenIsFalse()
    {
        await using var open = await ClockHost.StartAsync(_db.ConnectionString, "--ClockApi:RequireToken=false");
        var session = await _db.NewSessionAsync();
        using var response = await open.GetAsync($"/clock/{session}", token: null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task ServerNow_IsTheDatabaseClock_Within5ms()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, null);
        // The start reaches the API's memory with its notification, a few ms after the commit.
        await GetWhenAsync(session, c => c.Time("started_at") is not null);
        var worst = TimeSpan.Zero;
        for (var i = 0; i < 30; i++)
        {
            var before = await _db.NowAsync();
            var body = await GetOkAsync(session);
            var after = await _db.NowAsync();
            var serverNow = body.Time("server_now")!.Value;
            var error = serverNow < before ? before - serverNow : serverNow > after ? serverNow - after : TimeSpan.Zero;
            worst = error > worst ? error : worst;
            // A running clock's elapsed is derived from that same server_now.
            Assert.That(body.Elapsed(), Is.EqualTo((long)(serverNow - body.Time("started_at")!.Value).TotalMilliseconds));
        }
        Assert.That(worst, Is.LessThanOrEqualTo(TimeSpan.FromMilliseconds(5)));
    }

    [Test]
    public async Task Snapshot_IsRight_InEveryState()
    {
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()).AddMinutes(-10);

        var created = await GetOkAsync(session);
        Assert.That(created.Elapsed(), Is.Zero);
        Assert.That(created.Time("started_at"), Is.Null);
        await AgreesWithDatabase(session, created);

        await _db.TransitionAsync("start", session, t0);
        var running = await GetWhenAsync(session, c => c.Time("started_at") is not null);
        Assert.That(running.Elapsed(), Is.EqualTo((long)(running.Time("server_now")!.Value - t0).TotalMilliseconds));
        await AgreesWithDatabase(session, running);

        await _db.TransitionAsync("pause", session, t0.AddMinutes(1));
        var paused = await GetWhenAsync(session, c => c.Paused());
        Assert.That(paused.Paused(), Is.True);
        Assert.That(paused.Elapsed(), Is.EqualTo(60_000));
        await AgreesWithDatabase(session, paused);

        await _db.TransitionAsync("resume", session, t0.AddMinutes(3));
        var resumed = await GetWhenAsync(session, c => !c.Paused());
        Assert.That(resumed.Paused(), Is.False);
        Assert.That(resumed.TotalPaused(), Is.EqualTo(120_000));
        Assert.That(resumed.Elapsed(), Is.EqualTo((long)(resumed.Time("server_now")!.Value - t0).TotalMilliseconds - 120_000));
        await AgreesWithDatabase(session, resumed);

        await _db.TransitionAsync("end", session, t0.AddMinutes(5));
        var ended = await GetWhenAsync(session, c => c.Time("ended_at") is not null);
        Assert.That(ended.Time("ended_at"), Is.EqualTo(t0.AddMinutes(5)));
        Assert.That(ended.Elapsed(), Is.EqualTo(180_000));
        await AgreesWithDatabase(session, ended);
    }

    /// <summary>The snapshot once the change's notification has arrived (see <see cref="Pause_ReachesGet_AtOnce"/>).</summary>
    private async Task<JsonElement> GetWhenAsync(Guid session, Func<JsonElement, bool> changed)
    {
        var deadline = DateTime.UtcNow.AddSeconds(1);
        while (true)
        {
            var clock = await GetOkAsync(session);
            if (changed(clock) || DateTime.UtcNow > deadline) return clock;
        }
    }

    /// <summary>Every key but server_now as session_clock_get says; elapsed_ms too unless the clock is running.</summary>
    private async Task AgreesWithDatabase(Guid session, JsonElement api)
    {
        var db = await _db.GetAsync(session);
        foreach (var key in Keys.Except(["server_now", "elapsed_ms"]))
            Assert.That(api.GetProperty(key).ToString(), Is.EqualTo(db.GetProperty(key).ToString()), key);
        var running = db.Time("started_at") is not null && !db.Paused() && db.Time("ended_at") is null;
        if (!running) Assert.That(api.Elapsed(), Is.EqualTo(db.Elapsed()));
    }

    /// <summary>
    /// A change is served as soon as its notification arrives: no TTL, no polling. The notification races the
    /// caller's next request (typically by less than a millisecond, more on a loaded machine: src/RoomReconciler/Clock/README.md,
    /// "Freshness"), so the change must show within 100 ms, where a cache with a lifetime would show the old state
    /// for its lifetime.
    /// </summary>
    [Test]
    public async Task Pause_ReachesGet_AtOnce()
    {
        var session = await _db.NewSessionAsync();
        await _db.TransitionAsync("start", session, null);
        Assert.That((await GetOkAsync(session)).Paused(), Is.False);
        // Per round, how long after the commit a GET could still be answered with the old state (zero when
        // the first GET after the commit already shows the change); a GET's own latency is not counted.
        var staleFor = new List<TimeSpan>();
        for (var i = 0; i < 20; i++)
        {
            var pause = i % 2 == 0;
            await _db.TransitionAsync(pause ? "pause" : "resume", session, null);
            var committed = System.Diagnostics.Stopwatch.StartNew();
            var lastStale = TimeSpan.Zero;
            while (true)
            {
                var asked = committed.Elapsed;
                if ((await GetOkAsync(session)).Paused() == pause || asked > TimeSpan.FromSeconds(1)) break;
                lastStale = asked;
            }
            staleFor.Add(lastStale);
        }
        Assert.That(staleFor.Max(), Is.LessThan(TimeSpan.FromMilliseconds(100)), string.Join(", ", staleFor.Select(l => l.TotalMilliseconds)));
    }

    [Test]
    public async Task Health_Ready_Metrics_OpenApi()
    {
        using var health = await _host.Client.GetAsync("/healthz");
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var ready = await _host.Client.GetAsync("/readyz");
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ready.Content.ReadAsStringAsync());

        await _host.GetClockAsync(Guid.NewGuid());
        var metrics = await _host.Client.GetStringAsync("/metrics");
        Assert.That(metrics, Does.Contain("roomreconciler_clock_requests_total{endpoint=\"snapshot\",status=\"404\"}"));
        Assert.That(metrics, Does.Contain("roomreconciler_clock_stream_subscribers"));
        Assert.That(metrics, Does.Contain("roomreconciler_clock_listener_connected 1"));

        var openApi = await _host.Client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = openApi.GetProperty("paths");
        Assert.That(paths.TryGetProperty("/clock/{sessionId}", out var get), Is.True);
        Assert.That(paths.TryGetProperty("/clock/{sessionId}/stream", out _), Is.True);
        var responses = get.GetProperty("get").GetProperty("responses").EnumerateObject().Select(r => r.Name);
        Assert.That(responses, Is.SupersetOf(new[] { "200", "400", "401", "403", "404", "503" }));
    }

    [Test]
    public async Task Ready_Is503_ForADatabaseBehindItsMigrations()
    {
        var empty = await TestDatabase.CreateEmptyAsync();
        // Where Quartz's tables go, as `migrate` leaves it when it stops before its scripts.
        await TestDatabase.ExecuteAsync(empty, "CREATE SCHEMA roomreconciler");
        // No sessions table there, so the listener cannot load anything: do not wait for it.
        await using var host = await ClockHost.StartAsync(empty, waitForListener: false);
        using var ready = await host.Client.GetAsync("/readyz");
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await ready.Content.ReadAsStringAsync(), Does.Contain("behind"));
        using var health = await host.Client.GetAsync("/healthz");
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
