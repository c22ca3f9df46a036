using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using Npgsql;
using RoomReconciler.Tests.Scenarios;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Browser;

/// <summary>
/// The demo and timeline pages in headless Chromium, against the real daemon over real HTTP, the LiveKit simulator
/// (grace 3 s) and PostgreSQL. Every comparison is with the database's clock: a page's value is read between two
/// readings of the database's now, and must lie within 100 ms of what the server's clock gives in that window.
/// </summary>
[NonParallelizable]
public sealed class BrowserClockTests
{
    private const long ToleranceMs = 100;
    private BrowserHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _host = await BrowserHost.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    [TearDown]
    public Task CloseAsync() => _host.CloseContextsAsync();

    private sealed record View(long Ms, double UpdatedAt, bool Paused, double PausedChangedAt);

    /// <summary>Both clocks of a demo page, read in one evaluate. Times are the browser's epoch milliseconds.</summary>
    private const string ReadViews = """
        () => ['elapsed', 'elapsed-2'].map((id) => {
          const e = document.getElementById(id);
          return { ms: Number(e.dataset.elapsedMs), updatedAt: Number(e.dataset.updatedAt), paused: e.dataset.paused === 'true',
                   pausedChangedAt: Number(e.dataset.pausedChangedAt || 0) };
        })
        """;

    private static async Task<View[]> ReadAsync(IPage page) =>
        (await page.EvaluateAsync<JsonElement>(ReadViews)).EnumerateArray()
        .Select(v => new View(v.GetProperty("ms").GetInt64(), v.GetProperty("updatedAt").GetDouble(), v.GetProperty("paused").GetBoolean(),
            v.GetProperty("pausedChangedAt").GetDouble()))
        .ToArray();

    private async Task<IPage> OpenDemoAsync(Guid session)
    {
        var page = await _host.NewPageAsync();
        await page.GotoAsync($"{_host.Url}/demo/{session}");
        await page.WaitForSelectorAsync("#elapsed[data-ready='true']", new() { State = WaitForSelectorState.Attached });
        await page.WaitForSelectorAsync("#elapsed-2[data-ready='true']", new() { State = WaitForSelectorState.Attached });
        return page;
    }

    /// <summary>
    /// Reads the page between two readings of the database's clock and checks both views against the server. On a busy
    /// machine a reading can take long, and a wide window would loosen the check: the page is read again until the
    /// window is at most <see cref="MaxWindowMs"/> wide (or the tries are used up).
    /// </summary>
    private async Task<View[]> AssertMatchesServerAsync(IPage page, Guid session, string what)
    {
        var snapshot = await _host.System.ClockAsync(session);
        View[] views;
        long low, high;
        double window;
        var tries = 0;
        do
        {
            var before = await _host.System.Db.NowAsync();
            views = await ReadAsync(page);
            var after = await _host.System.Db.NowAsync();
            (low, high) = (BrowserHost.ServerElapsedAt(snapshot, before), BrowserHost.ServerElapsedAt(snapshot, after));
            window = (after - before).TotalMilliseconds;
        } while (++tries < 10 && window > MaxWindowMs);
        foreach (var (v, i) in views.Select((v, i) => (v, i)))
        {
            Assert.That(v.Ms, Is.InRange(low - ToleranceMs, high + ToleranceMs),
                $"{what}: view {i + 1} shows {v.Ms} ms; the server's clock gave {low}..{high} ms while it was read");
            Assert.That(v.Paused, Is.EqualTo(snapshot.Paused()), $"{what}: view {i + 1} paused");
        }
        return views;
    }

    private const double MaxWindowMs = 30;

    /// <summary>
    /// The browser's clock (performance.timeOrigin + now(), as the page stamps its changes) minus the database's,
    /// from the narrowest of a few bracketed readings: the two are the same clock only when PostgreSQL is local.
    /// </summary>
    private async Task<double> BrowserMinusDatabaseMsAsync(IPage page)
    {
        var (width, offset) = (double.MaxValue, 0.0);
        for (var i = 0; i < 5; i++)
        {
            var before = await _host.System.Db.NowAsync();
            var browser = await page.EvaluateAsync<double>("() => performance.timeOrigin + performance.now()");
            var after = await _host.System.Db.NowAsync();
            var w = (after - before).TotalMilliseconds;
            if (w < width) (width, offset) = (w, browser - (before - DateTime.UnixEpoch).TotalMilliseconds - w / 2);
        }
        return offset;
    }

    [Test]
    public async Task TwoPages_ShowTheServersTime_WithinATenthOfASecond()
    {
        var session = await _host.RunningSessionAsync();
        var customer = await OpenDemoAsync(session);
        var mechanic = await OpenDemoAsync(session);

        for (var i = 0; i < 5; i++)
        {
            // Each page against the server's clock...
            await AssertMatchesServerAsync(customer, session, $"customer page, sample {i}");
            await AssertMatchesServerAsync(mechanic, session, $"mechanic page, sample {i}");

            // ...and the four clocks against each other at one instant: each value carried to the latest frame time.
            var read = await Task.WhenAll(ReadAsync(customer), ReadAsync(mechanic));
            var views = read.SelectMany(v => v).ToList();
            var at = views.Max(v => v.UpdatedAt);
            var carried = views.Select(v => v.Ms + (at - v.UpdatedAt)).ToList();
            Assert.That(carried.Max() - carried.Min(), Is.LessThanOrEqualTo(ToleranceMs),
                $"sample {i}: the four clocks at one instant: {string.Join(", ", carried.Select(c => c.ToString("F0")))} ms");
            await Task.Delay(200);
        }
        Assert.That(await customer.TextContentAsync("#elapsed"), Does.Match(@"^\d+:\d\d$"), "m:ss");
    }

    [Test]
    public async Task PauseAndResume_ShowInBothPages_WithinOneSecondOfTheCommit()
    {
        var session = await _host.RunningSessionAsync();
        var pages = new[] { await OpenDemoAsync(session), await OpenDemoAsync(session) };
        var offsets = new[] { await BrowserMinusDatabaseMsAsync(pages[0]), await BrowserMinusDatabaseMsAsync(pages[1]) };
        foreach (var page in pages)
            await page.WaitForSelectorAsync("#presence[data-participants='customer,mechanic']", new() { State = WaitForSelectorState.Attached });

        _host.System.LiveKit.Rooms.Leave(ScenarioHost.Room(session), "customer");
        // During the 3 s grace the page says so and the clock runs on.
        await pages[0].WaitForSelectorAsync("#presence[data-grace='true']", new() { State = WaitForSelectorState.Attached, Timeout = 2_500 });
        Assert.That((await ReadAsync(pages[0])).Select(v => v.Paused), Is.All.False, "the clock runs through the grace");

        await Task.WhenAll(pages.Select(p => p.WaitForFunctionAsync(
            "() => ['elapsed', 'elapsed-2'].every((id) => document.getElementById(id).dataset.paused === 'true')",
            null, new() { Timeout = 8_000 })));
        var paused = (await _host.System.Db.EventsAsync(session)).Last();
        Assert.That(paused.Type, Is.EqualTo("paused"));
        var pausedCommit = await CreatedAtAsync(session, "paused");
        var snapshot = await _host.System.ClockAsync(session);
        foreach (var (page, p) in pages.Select((page, p) => (page, p)))
        {
            foreach (var (v, i) in (await ReadAsync(page)).Select((v, i) => (v, i)))
            {
                Assert.That(v.Ms, Is.EqualTo(snapshot.Elapsed()), $"page {p + 1} view {i + 1} shows the billed value, frozen");
                AssertShownSoonAfter(v.PausedChangedAt - offsets[p], pausedCommit, $"page {p + 1} view {i + 1}: pause");
            }
            await page.WaitForSelectorAsync("#presence[data-participants='mechanic']", new() { State = WaitForSelectorState.Attached });
        }

        _host.System.LiveKit.Rooms.Join(ScenarioHost.Room(session), "customer");
        await Task.WhenAll(pages.Select(p => p.WaitForFunctionAsync(
            "() => ['elapsed', 'elapsed-2'].every((id) => document.getElementById(id).dataset.paused === 'false')",
            null, new() { Timeout = 5_000 })));
        var resumedCommit = await CreatedAtAsync(session, "resumed");
        foreach (var (page, p) in pages.Select((page, p) => (page, p)))
        {
            foreach (var (v, i) in (await ReadAsync(page)).Select((v, i) => (v, i)))
                AssertShownSoonAfter(v.PausedChangedAt - offsets[p], resumedCommit, $"page {p + 1} view {i + 1}: resume");
            await AssertMatchesServerAsync(page, session, $"page {p + 1} after the resume");
        }
    }

    /// <summary>The page's own record of when it showed the change, on the database's clock, against the event's commit.</summary>
    private static void AssertShownSoonAfter(double shownAtEpochMs, DateTime committedAt, string what)
    {
        var committed = (committedAt - DateTime.UnixEpoch).TotalMilliseconds;
        Assert.That(shownAtEpochMs - committed, Is.InRange(-50, 1_000), $"{what} shown {shownAtEpochMs - committed:F0} ms after its commit");
    }

    private async Task<DateTime> CreatedAtAsync(Guid session, string type)
    {
        await using var command = _host.System.Db.DataSource.CreateCommand(
            "SELECT created_at FROM roomreconciler.session_events WHERE session_id = $1 AND event_type = $2 ORDER BY id DESC LIMIT 1");
        command.Parameters.AddWithValue(session);
        command.Parameters.AddWithValue(type);
        return ((DateTime)(await command.ExecuteScalarAsync())!).ToUniversalTime();
    }

    [Test]
    public async Task Reload_ShowsTheRightTime_AtOnce()
    {
        var session = await _host.RunningSessionAsync();
        var page = await OpenDemoAsync(session);
        await Task.Delay(1_500);
        for (var i = 0; i < 2; i++)
        {
            var watch = Stopwatch.StartNew();
            await page.ReloadAsync();
            await page.WaitForSelectorAsync("#elapsed[data-ready='true']", new() { State = WaitForSelectorState.Attached });
            await page.WaitForSelectorAsync("#elapsed-2[data-ready='true']", new() { State = WaitForSelectorState.Attached });
            var views = await AssertMatchesServerAsync(page, session, $"right after reload {i + 1}");
            Assert.That(views.Select(v => v.Ms), Is.All.GreaterThan(1_000), "not counting from zero again");
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "the right time shows within a moment of the reload");
        }
    }

    [Test]
    public async Task TimelinePage_DrawsTheIntervalsTheEventsSay()
    {
        // A finished session with a reconciler-shaped history: two drops, each paused at drop + grace (3 s) and resumed
        // at the return. One transaction, so that the running reconciler sees the session either not started or ended.
        var session = await _host.System.NewSessionAsync();
        var t0 = (await _host.System.Db.NowAsync()).AddSeconds(-120);
        await using (var connection = await _host.System.Db.DataSource.OpenConnectionAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            string[] both = ["customer", "mechanic"];
            foreach (var (type, reason, seconds, seen) in new[]
            {
                ("started", "participants_joined", 0, both), ("paused", "participant_disconnected", 30, ["mechanic"]),
                ("resumed", "participants_reconnected", 45, both), ("paused", "participant_disconnected", 70, ["customer"]),
                ("resumed", "participants_reconnected", 80, both), ("ended", "session_completed", 100, both),
            })
            {
                await using var command = new NpgsqlCommand(
                    "SELECT roomreconciler.session_clock_transition($1, $2, $3, $4, 'poll', jsonb_build_object('participants', $5::text[]))", connection, transaction);
                command.Parameters.AddWithValue(session);
                command.Parameters.AddWithValue(type);
                command.Parameters.AddWithValue(reason);
                command.Parameters.AddWithValue(t0.AddSeconds(seconds));
                command.Parameters.AddWithValue(seen);
                await command.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
        }

        var page = await _host.NewPageAsync();
        var response = await page.GotoAsync($"{_host.Url}/sessions/{session}/timeline");
        Assert.That(response!.Headers["content-type"], Does.StartWith("text/html"), "a browser gets the page at the JSON's address");
        await page.WaitForSelectorAsync("#timeline[data-state='ready']", new() { State = WaitForSelectorState.Attached });

        var events = await _host.System.Db.EventsAsync(session);
        static string Iso(DateTime t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'");
        var pauses = events.Where(e => e.Type == "paused").Select(e => Iso(e.EffectiveAt)).ToList();
        var resumes = events.Where(e => e.Type == "resumed").Select(e => Iso(e.EffectiveAt)).ToList();

        var paused = await BarsAsync(page, "rect.paused-interval");
        Assert.That(paused, Has.Count.EqualTo(2), "one bar per paused interval in session_events");
        Assert.That(paused.Select(b => b["from"]), Is.EqualTo(pauses));
        Assert.That(paused.Select(b => b["to"]), Is.EqualTo(resumes));
        Assert.That(paused.Select(b => long.Parse(b["ms"])), Is.EqualTo(new[] { 15_000L, 10_000L }));

        var running = await BarsAsync(page, "rect.running-interval");
        var ended = Iso(events.Single(e => e.Type == "ended").EffectiveAt);
        Assert.That(running.Select(b => b["from"]), Is.EqualTo(new[] { Iso(t0) }.Concat(resumes)));
        Assert.That(running.Select(b => b["to"]), Is.EqualTo(pauses.Append(ended)));
        Assert.That(running.Select(b => b["open"]), Is.All.EqualTo("false"));

        var graces = await BarsAsync(page, "rect.grace-period");
        Assert.That(graces.Select(b => b["to"]), Is.EqualTo(pauses), "each grace ends in its pause");
        Assert.That(graces.Select(b => long.Parse(b["ms"])), Is.All.EqualTo((long)ScenarioHost.Grace.TotalMilliseconds));

        var presence = await BarsAsync(page, "rect.presence-interval");
        Assert.That(presence.Count(b => b["identity"] == "customer"), Is.EqualTo(2), "the customer dropped once");
        Assert.That(presence.Count(b => b["identity"] == "mechanic"), Is.EqualTo(2), "the mechanic dropped once");

        var billed = long.Parse((await page.GetAttributeAsync("#billed", "data-billed-ms"))!);
        Assert.That(billed, Is.EqualTo(100_000 - 25_000), "100 s from start to end, less 25 s paused");
        Assert.That(await page.TextContentAsync("#billed"), Is.EqualTo("1:15.000"));
        Assert.That(running.Sum(b => long.Parse(b["ms"])), Is.EqualTo(billed), "the running bars add up to the bill");
        Assert.That(await page.Locator("#events tbody tr").CountAsync(), Is.EqualTo(events.Count));
        Assert.That(await page.TextContentAsync("#error"), Is.Empty);
    }

    /// <summary>The data attributes of every element matching <paramref name="selector"/>, in document order.</summary>
    private static async Task<List<Dictionary<string, string>>> BarsAsync(IPage page, string selector) =>
        (await page.EvaluateAsync<JsonElement>("(s) => [...document.querySelectorAll(s)].map((e) => ({ ...e.dataset }))", selector))
        .EnumerateArray().Select(e => e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!)).ToList();

    [Test]
    public async Task DemoPage_LinksToTheTimeline()
    {
        var session = await _host.RunningSessionAsync();
        var page = await OpenDemoAsync(session);
        await page.ClickAsync("#timeline-link");
        await page.WaitForSelectorAsync("#timeline[data-state='ready']", new() { State = WaitForSelectorState.Attached });
        Assert.That(page.Url, Does.EndWith($"/sessions/{session}/timeline.html"));
        Assert.That(await page.Locator("rect.running-interval").CountAsync(), Is.EqualTo(1));
        Assert.That(await page.Locator("rect.presence-interval").CountAsync(), Is.EqualTo(2), "customer and mechanic, both still there");
    }
}
