using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using RoomReconciler.Tests.Clock;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Timeline;

/// <summary>GET /sessions/{id}/timeline against the real host over HTTP and a real PostgreSQL, with explicit effective times.</summary>
public sealed class TimelineTests
{
    private ClockDatabase _db = null!;
    private ClockHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _db = await ClockDatabase.CreateAsync();
        _host = await ClockHost.StartAsync(_db.ConnectionString, "--Reconciler:GracePeriod=00:00:30");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        await _db.DisposeAsync();
    }

    private const string Both = """{"participants": ["customer", "mechanic"]}""";

    /// <summary>A transition as the reconciler writes it (source poll, the participants it saw), at an explicit time.</summary>
    private Task<JsonElement> ReconcilerTransitionAsync(Guid session, string type, string reason, DateTime at, string details) =>
        _db.CallAsync("roomreconciler.session_clock_transition($1, $2, $3, $4, 'poll', $5::jsonb)", session, type, reason, at, details);

    private async Task<JsonElement> TimelineAsync(Guid session)
    {
        using var response = await _host.GetAsync($"/sessions/{session}/timeline", ClockHost.Token(session));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string Iso(DateTime t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
    private static DateTime Time(JsonElement e, string key) => e.GetProperty(key).GetDateTime().ToUniversalTime();
    private static long Ms(JsonElement e) => e.GetProperty("ms").GetInt64();

    private static void AssertInterval(JsonElement interval, DateTime from, DateTime? to, bool open, string what)
    {
        Assert.That(interval.GetProperty("from").GetString(), Is.EqualTo(Iso(from)), what + " from");
        if (to is { } end) Assert.That(interval.GetProperty("to").GetString(), Is.EqualTo(Iso(end)), what + " to");
        if (interval.TryGetProperty("open", out var isOpen)) Assert.That(isOpen.GetBoolean(), Is.EqualTo(open), what + " open");
    }

    [Test]
    public async Task GracePeriodScenario_PausedThirtySeconds_BilledExactly()
    {
        // The grace-period acceptance scenario at full scale: both in at T0, the customer drops at 1:00, the clock pauses at 1:30
        // (drop + 30 s grace), the customer is back at 2:00 and the clock resumes from 1:30.
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()).AddSeconds(-300);
        await ReconcilerTransitionAsync(session, "started", "participants_joined", t0, Both);
        await ReconcilerTransitionAsync(session, "paused", "participant_disconnected", t0.AddSeconds(90), """{"participants": ["mechanic"]}""");
        await ReconcilerTransitionAsync(session, "resumed", "participants_reconnected", t0.AddSeconds(120), Both);

        var t = await TimelineAsync(session);
        var now = Time(t, "server_now");

        Assert.That(t.GetProperty("session_id").GetString(), Is.EqualTo(session.ToString("D")));
        Assert.That(t.GetProperty("room").GetString(), Is.EqualTo(session.ToString("D")));
        Assert.That(t.GetProperty("started_at").GetString(), Is.EqualTo(Iso(t0)));
        Assert.That(t.GetProperty("total_paused_ms").GetInt64(), Is.EqualTo(30_000));
        Assert.That(t.GetProperty("billed_ms").GetInt64(), Is.EqualTo((long)(now - t0).TotalMilliseconds - 30_000), "billed = now - T0 - 30 s, to the millisecond");
        Assert.That(t.GetProperty("billed_until").GetString(), Is.EqualTo(Iso(now)));
        Assert.That(t.GetProperty("grace_period_ms").GetInt64(), Is.EqualTo(30_000));
        Assert.That(t.GetProperty("consistent").GetBoolean(), Is.True);

        var events = t.GetProperty("events").EnumerateArray().ToList();
        Assert.That(events.Select(e => e.GetProperty("type").GetString()), Is.EqualTo(new[] { "started", "paused", "resumed" }));
        Assert.That(events.Select(e => e.GetProperty("effective_at").GetString()), Is.EqualTo(new[] { Iso(t0), Iso(t0.AddSeconds(90)), Iso(t0.AddSeconds(120)) }));
        Assert.That(events.Select(e => e.GetProperty("source").GetString()), Is.All.EqualTo("poll"));
        Assert.That(events[1].GetProperty("reason").GetString(), Is.EqualTo("participant_disconnected"));
        Assert.That(events[1].GetProperty("details").GetProperty("participants")[0].GetString(), Is.EqualTo("mechanic"));
        foreach (var e in events)
            Assert.That(e.GetProperty("lag_ms").GetInt64(), Is.EqualTo((long)(Time(e, "created_at") - Time(e, "effective_at")).TotalMilliseconds));

        var paused = t.GetProperty("paused_intervals").EnumerateArray().ToList();
        Assert.That(paused, Has.Count.EqualTo(1));
        AssertInterval(paused[0], t0.AddSeconds(90), t0.AddSeconds(120), false, "paused");
        Assert.That(Ms(paused[0]), Is.EqualTo(30_000));
        Assert.That(paused[0].GetProperty("reason").GetString(), Is.EqualTo("participant_disconnected"));
        Assert.That(paused[0].GetProperty("end_reason").GetString(), Is.EqualTo("participants_reconnected"));

        var running = t.GetProperty("running_intervals").EnumerateArray().ToList();
        Assert.That(running, Has.Count.EqualTo(2));
        AssertInterval(running[0], t0, t0.AddSeconds(90), false, "first run");
        Assert.That(Ms(running[0]), Is.EqualTo(90_000));
        AssertInterval(running[1], t0.AddSeconds(120), now, true, "second run");
        Assert.That(running.Sum(Ms), Is.EqualTo(t.GetProperty("billed_ms").GetInt64()));

        var grace = t.GetProperty("grace_periods").EnumerateArray().Single();
        AssertInterval(grace, t0.AddSeconds(60), t0.AddSeconds(90), false, "grace");
        Assert.That(grace.GetProperty("outcome").GetString(), Is.EqualTo("paused"));
        Assert.That(grace.GetProperty("present").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "mechanic" }));

        var people = t.GetProperty("participants").EnumerateArray().ToDictionary(p => p.GetProperty("identity").GetString()!, p => p.GetProperty("intervals").EnumerateArray().ToList());
        Assert.That(people.Keys, Is.EquivalentTo(new[] { "customer", "mechanic" }));
        Assert.That(people["customer"], Has.Count.EqualTo(2));
        AssertInterval(people["customer"][0], t0, t0.AddSeconds(60), false, "customer until the drop");
        AssertInterval(people["customer"][1], t0.AddSeconds(120), now, true, "customer back");
        AssertInterval(people["mechanic"].Single(), t0, now, true, "mechanic throughout");
        Assert.That(t.GetProperty("presence").ValueKind, Is.EqualTo(JsonValueKind.Null), "no session_presence row was written");
    }

    [Test]
    public async Task EndedWhilePaused_BillsUpToThePause_AndThePauseEndsAtTheEnd()
    {
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()).AddSeconds(-100);
        await _db.TransitionAsync("start", session, t0);
        await _db.TransitionAsync("pause", session, t0.AddSeconds(40), "manual");
        await _db.TransitionAsync("end", session, t0.AddSeconds(70), "done");

        var t = await TimelineAsync(session);

        Assert.That(t.GetProperty("billed_ms").GetInt64(), Is.EqualTo(40_000));
        Assert.That(t.GetProperty("billed_until").GetString(), Is.EqualTo(Iso(t0.AddSeconds(70))));
        Assert.That(t.GetProperty("consistent").GetBoolean(), Is.True);
        var running = t.GetProperty("running_intervals").EnumerateArray().Single();
        AssertInterval(running, t0, t0.AddSeconds(40), false, "running");
        var paused = t.GetProperty("paused_intervals").EnumerateArray().Single();
        AssertInterval(paused, t0.AddSeconds(40), t0.AddSeconds(70), false, "paused until the end");
        Assert.That(paused.GetProperty("reason").GetString(), Is.EqualTo("manual"));
        Assert.That(paused.GetProperty("source").GetString(), Is.EqualTo("api"));
        Assert.That(paused.GetProperty("end_reason").GetString(), Is.EqualTo("done"));
        Assert.That(t.GetProperty("grace_periods").GetArrayLength(), Is.Zero, "a pause through the API had no grace");
        Assert.That(t.GetProperty("participants").GetArrayLength(), Is.Zero, "API transitions record no participants");
    }

    [Test]
    public async Task GraceRunningNow_IsPending_AndTheLeaverLeftAtBelowSince()
    {
        var session = await _db.NewSessionAsync();
        var t0 = (await _db.NowAsync()).AddSeconds(-60);
        await ReconcilerTransitionAsync(session, "started", "participants_joined", t0, Both);
        var below = t0.AddSeconds(50);
        await using (var command = _db.DataSource.CreateCommand(
            "INSERT INTO roomreconciler.session_presence (session_id, participants, below_since, source) VALUES ($1, $2, $3, 'webhook')"))
        {
            command.Parameters.AddWithValue(session);
            command.Parameters.AddWithValue(new[] { "mechanic" });
            command.Parameters.AddWithValue(below);
            await command.ExecuteNonQueryAsync();
        }

        var t = await TimelineAsync(session);

        var grace = t.GetProperty("grace_periods").EnumerateArray().Single();
        AssertInterval(grace, below, below.AddSeconds(30), false, "pending grace");
        Assert.That(grace.GetProperty("outcome").GetString(), Is.EqualTo("pending"));
        Assert.That(t.GetProperty("presence").GetProperty("below_since").GetString(), Is.EqualTo(Iso(below)));
        Assert.That(t.GetProperty("presence").GetProperty("source").GetString(), Is.EqualTo("webhook"));
        var people = t.GetProperty("participants").EnumerateArray().ToDictionary(p => p.GetProperty("identity").GetString()!, p => p.GetProperty("intervals").EnumerateArray().ToList());
        AssertInterval(people["customer"].Single(), t0, below, false, "customer left when the count fell");
        Assert.That(people["mechanic"].Single().GetProperty("open").GetBoolean(), Is.True);
        var running = t.GetProperty("running_intervals").EnumerateArray().Single();
        Assert.That(running.GetProperty("open").GetBoolean(), Is.True, "the clock runs through a grace");
        Assert.That(Ms(running), Is.EqualTo(t.GetProperty("billed_ms").GetInt64()));
    }

    [Test]
    public async Task NotStarted_IsEmpty_AndBillsNothing()
    {
        var session = await _db.NewSessionAsync();
        var t = await TimelineAsync(session);
        Assert.That(t.GetProperty("billed_ms").GetInt64(), Is.Zero);
        Assert.That(t.GetProperty("billed_until").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(t.GetProperty("events").GetArrayLength(), Is.Zero);
        Assert.That(t.GetProperty("running_intervals").GetArrayLength(), Is.Zero);
        Assert.That(t.GetProperty("consistent").GetBoolean(), Is.True);
    }

    [Test]
    public async Task ClockChangedWithoutEvents_IsReportedInconsistent_ButBillsTheStoredClock()
    {
        var session = await _db.NewSessionAsync();
        await using (var command = _db.DataSource.CreateCommand(
            "UPDATE sessions SET started_at = date_trunc('milliseconds', clock_timestamp()) - interval '20 s', total_paused_ms = 5000 WHERE id = $1"))
        {
            command.Parameters.AddWithValue(session);
            await command.ExecuteNonQueryAsync();
        }
        var t = await TimelineAsync(session);
        var clock = await _db.GetAsync(session);
        Assert.That(t.GetProperty("billed_ms").GetInt64(), Is.InRange(15_000, clock.Elapsed()));
        Assert.That(t.GetProperty("consistent").GetBoolean(), Is.False, "5 s of pause with no logged interval");
        Assert.That(t.GetProperty("running_intervals").GetArrayLength(), Is.EqualTo(1), "the start is taken from started_at");
    }

    [Test]
    public async Task Access_IsTheClockApis()
    {
        var session = await _db.NewSessionAsync();
        using (var none = await _host.GetAsync($"/sessions/{session}/timeline", null))
        {
            Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(none.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        }
        using (var other = await _host.GetAsync($"/sessions/{session}/timeline", ClockHost.Token(Guid.NewGuid())))
            Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using (var wrongSecret = await _host.GetAsync($"/sessions/{session}/timeline", ClockHost.Token(session, secret: "another-secret")))
            Assert.That(wrongSecret.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        using (var malformed = await _host.GetAsync("/sessions/not-a-uuid/timeline", ClockHost.Token(session)))
        {
            Assert.That(malformed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(malformed.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        }
        var unknown = Guid.NewGuid();
        using (var missing = await _host.GetAsync($"/sessions/{unknown}/timeline", ClockHost.Token(unknown)))
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        using (var query = await _host.GetAsync($"/sessions/{session}/timeline?access_token={ClockHost.Token(session)}", null))
            Assert.That(query.StatusCode, Is.EqualTo(HttpStatusCode.OK), "?access_token= as for the clock stream");
        using (var page = await _host.GetAsync($"/sessions/{session}/timeline.html", null))
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the page is behind the same token");
    }

    [Test]
    public async Task Browsers_GetThePage_ClientsGetJson()
    {
        var session = await _db.NewSessionAsync();
        async Task<HttpResponseMessage> Get(string path, string accept)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ClockHost.Token(session));
            request.Headers.TryAddWithoutValidation("Accept", accept);
            return await _host.Client.SendAsync(request);
        }
        const string browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        using (var html = await Get($"/sessions/{session}/timeline", browser))
        {
            Assert.That(html.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(html.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(html.Headers.Vary, Does.Contain("Accept"));
            Assert.That(await html.Content.ReadAsStringAsync(), Does.Contain("<svg id=\"chart\""));
        }
        using (var page = await Get($"/sessions/{session}/timeline.html", "*/*"))
            Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        foreach (var accept in new[] { "*/*", "application/json", "application/json, text/html;q=0.5" })
        {
            using var json = await Get($"/sessions/{session}/timeline", accept);
            Assert.That(json.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), accept);
        }
    }
}
