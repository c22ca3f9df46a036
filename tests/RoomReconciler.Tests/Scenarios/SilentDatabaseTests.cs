using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using RoomReconciler.Tests.Browser;
using RoomReconciler.Tests.Support;
using static RoomReconciler.Tests.Scenarios.ScenarioHost;

namespace RoomReconciler.Tests.Scenarios;

/// <summary>
/// Two daemon processes on one database; replica A reaches PostgreSQL at 127.0.0.2 and B at 127.0.0.1. iptables
/// drops A's path (packets vanish, nothing is refused) for 8 s while a participant leaves and B's poll pauses the clock.
/// Meanwhile clients keep asking A: GET, /readyz, a stream, a webhook, and the real clock module in Node. Each
/// test below checks one promise of docs/operations.md ("Reliability") against that one run.
/// </summary>
[NonParallelizable]
public sealed class SilentDatabaseTests
{
    /// <summary>Short, so that the pause commits within a second or two of the cut.</summary>
    private static readonly TimeSpan ShortGrace = TimeSpan.FromSeconds(1);

    /// <summary>Long enough for the other replica to take over a tick that the cut one had in flight (see the bound below).</summary>
    private static readonly TimeSpan Cut = TimeSpan.FromSeconds(8);

    /// <summary>A loaded 2-core machine runs ticks late; the takeover bound allows this much on top.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(800);

    private ScenarioHost _host = null!;
    private Guid _session;
    private DateTime _cutAt, _healedAt, _pauseCommittedAt, _leftAt;
    private readonly ConcurrentQueue<Answer> _gets = new(), _readiness = new();
    private readonly ConcurrentQueue<(DateTime At, string Event)> _stream = new();
    private readonly ConcurrentQueue<ModuleLine> _module = new();
    private readonly List<Answer> _webhooks = [];
    private Answer _streamDuringCut, _webhookAfterHeal;
    private DateTime? _streamEndedAt;
    private List<(string Type, DateTime EffectiveAt, string Source)> _events = [];

    private readonly record struct Answer(DateTime SentAt, TimeSpan Took, int Status, bool? Paused)
    {
        public DateTime At => SentAt + Took;
        public bool Running => Status == 200 && Paused == false;
    }

    private sealed record ModuleLine(long At, long ElapsedMs, bool IsPaused, bool Stale, string? Error)
    {
        public DateTime When => DateTime.UnixEpoch.AddMilliseconds(At);
        public bool ShowsRunning => !IsPaused && !Stale;
    }

    [OneTimeSetUp]
    public async Task CutReplicaAsPathWhilePausingThroughBAsync()
    {
        PacketDrop.Require();

        _host = await ScenarioHost.CreateAsync(daemonArgs: ["--Reconciler:GracePeriod=" + ShortGrace.ToString("c")]);
        var port = new NpgsqlConnectionStringBuilder(_host.Db.ConnectionString).Port;
        var viaB = _host.Db.ConnectionString;
        var viaA = new NpgsqlConnectionStringBuilder(viaB) { Host = PacketDrop.Address }.ConnectionString;
        await _host.StartDaemonProcessAsync("--ConnectionStrings:Postgres=" + viaB);
        // Started last, so the simulator's webhooks go to A.
        var a = (await _host.StartDaemonProcessAsync("--ConnectionStrings:Postgres=" + viaA)).Url;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.Async(() => StatusAsync(http, a + "/readyz"), s => s == 200, TimeSpan.FromSeconds(20), "A ready");
        _session = await _host.NewSessionAsync();
        _host.LiveKit.Rooms.Join(Room(_session), "customer");
        _host.LiveKit.Rooms.Join(Room(_session), "mechanic");
        await _host.UntilClockAsync(_session, c => c.Time("started_at") is not null, TimeSpan.FromSeconds(5), "the start");

        using var stop = new CancellationTokenSource();
        using var module = StartModule(a);
        var stream = await OpenStreamAsync(http, a);
        var watchers = new[]
        {
            Watch(http, $"{a}/clock/{_session}", _gets, stop.Token),
            Watch(http, a + "/readyz", _readiness, stop.Token),
            ReadStreamAsync(stream, stop.Token),
        };
        await Eventually.Async(() => Task.FromResult(_module.Count(l => l.ShowsRunning)), n => n > 3, TimeSpan.FromSeconds(10), "the module showing the running clock");
        await Task.Delay(500);

        var drop = PacketDrop.Start(port);
        try
        {
            _cutAt = DateTime.UtcNow;
            _host.LiveKit.Rooms.Leave(Room(_session), "customer");
            _leftAt = DateTime.UtcNow;
            _pauseCommittedAt = await WhenPausedAsync(Cut - TimeSpan.FromSeconds(1));

            // By now A has stopped vouching: what its other paths answer.
            await Task.Delay(TimeSpan.FromSeconds(2));
            _webhooks.Add(await TimedAsync(() => _host.LiveKit.Webhooks.SendRawAsync(Webhook("EV_cut_one"))));
            _webhooks.Add(await TimedAsync(() => _host.LiveKit.Webhooks.SendRawAsync(Webhook("EV_cut_two"))));
            _streamDuringCut = await TimedAsync(() => StatusAsync(http, $"{a}/clock/{_session}/stream"));
            if (_cutAt + Cut - DateTime.UtcNow is { Ticks: > 0 } rest) await Task.Delay(rest);
        }
        finally
        {
            drop.Dispose();
            _healedAt = DateTime.UtcNow;
        }

        // Right again: A serves the pause, is ready, and the module shows it, each within 5 s of the heal.
        var deadline = _healedAt + TimeSpan.FromSeconds(8);
        while (DateTime.UtcNow < deadline && !(RightAgain(_gets) && RightAgain(_readiness) && _module.Any(l => l.When > _healedAt && l.IsPaused && !l.Stale)))
            await Task.Delay(50);
        _webhookAfterHeal = await TimedAsync(() => _host.LiveKit.Webhooks.SendRawAsync(Webhook("EV_cut_one")));
        await Task.Delay(Poll * 4); // any tick A had in flight has ended by now
        _events = await _host.Db.EventsAsync(_session);
        await stop.CancelAsync();
        await Task.WhenAll(watchers);
        stream.Dispose();
        Report();
    }

    /// <summary>The figures of docs/operations.md, "A replica cut off from PostgreSQL", times from the cut.</summary>
    private void Report()
    {
        var all = _gets.Concat(_readiness).Concat(_webhooks).Append(_streamDuringCut).ToList();
        var lastRunning = _gets.Where(g => g.Running && g.At < _healedAt).Select(g => g.At).DefaultIfEmpty(_cutAt).Max();
        var moduleRunning = _module.Where(l => l.ShowsRunning && l.When < _healedAt).Select(l => l.When).DefaultIfEmpty(_cutAt).Max();
        var moduleRight = _module.Where(l => l.When > _healedAt && l.IsPaused && !l.Stale).Select(l => l.When).DefaultIfEmpty(DateTime.MaxValue).Min();
        TestContext.Progress.WriteLine(
            $"silent path: cut at 0, customer left +{Ms(_leftAt)} ms, pause committed (seen via B's path) +{Ms(_pauseCommittedAt)} ms, " +
            $"healed +{Ms(_healedAt)} ms; A's last running GET +{Ms(lastRunning)} ms; slowest request {all.Max(r => r.Took).TotalMilliseconds:0} ms " +
            $"({all.Count} requests); stream: {string.Join(", ", _stream.Select(e => $"{e.Event} +{Ms(e.At)}"))}, ended +{(_streamEndedAt is { } end ? Ms(end) : -1)}; " +
            $"module last running +{Ms(moduleRunning)} ms; webhooks {string.Join("/", _webhooks.Select(w => $"{w.Status} in {w.Took.TotalMilliseconds:0} ms"))}; " +
            $"right after the heal: GET +{Ms(FirstRight(_gets), _healedAt)} ms, readyz +{Ms(FirstRight(_readiness), _healedAt)} ms, module +{Ms(moduleRight, _healedAt)} ms");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    [Test]
    public void TheCutReplica_ServesNoRunningClock_MoreThan2sAfterThePauseCommits()
    {
        var lastRunning = _gets.Where(g => g.Running && g.At < _healedAt).Select(g => g.At).DefaultIfEmpty(_cutAt).Max();
        Assert.That(lastRunning - _pauseCommittedAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(2)),
            $"A served a running clock until +{Ms(lastRunning)} ms; the pause committed at +{Ms(_pauseCommittedAt)} ms");
        var during = _gets.Where(g => g.SentAt > _cutAt + TimeSpan.FromSeconds(2) && g.At < _healedAt).ToList();
        Assert.That(during, Is.Not.Empty);
        Assert.That(during.Select(g => g.Status), Is.All.EqualTo(503),
            "once it cannot vouch, A says so: " + string.Join(", ", during.Where(g => g.Status != 503).Select(g => $"{g.Status} paused={g.Paused} sent +{Ms(g.SentAt)} in {g.Took.TotalMilliseconds:0} ms")));
    }

    [Test]
    public void NoRequest_WaitsMoreThan1AndAHalfSeconds()
    {
        var all = _gets.Concat(_readiness).Concat(_webhooks).Append(_streamDuringCut).ToList();
        Assert.That(all.Max(r => r.Took), Is.LessThanOrEqualTo(TimeSpan.FromSeconds(1.5)),
            "slowest: " + all.MaxBy(r => r.Took));
        Assert.That(_gets.Where(g => g.SentAt > _cutAt && g.At < _healedAt).Count(), Is.GreaterThan(20), "A was asked all through the cut");
    }

    [Test]
    public void ReadinessFails_DuringTheCut()
    {
        var during = _readiness.Where(r => r.SentAt > _cutAt + TimeSpan.FromSeconds(2) && r.At < _healedAt).ToList();
        Assert.That(during, Is.Not.Empty);
        Assert.That(during.Select(r => r.Status), Is.All.EqualTo(503));
    }

    [Test]
    public void ItsStreams_SpeakWithin3s_AndEnd_AndNewOnesAreRefused()
    {
        var told = _stream.Where(e => e.Event == "unavailable").Select(e => e.At).DefaultIfEmpty(DateTime.MaxValue).Min();
        Assert.That(told - _cutAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(3)), "event: unavailable after the cut");
        Assert.That(told - _pauseCommittedAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(3)), "event: unavailable after the pause");
        Assert.That(_streamEndedAt, Is.Not.Null.And.LessThan(told + TimeSpan.FromSeconds(1)), "and the stream ends");
        Assert.That(_stream.Where(e => e.At > _cutAt).Select(e => e.Event), Is.EqualTo(new[] { "unavailable" }), "nothing else, no stale clock");
        Assert.That(_streamDuringCut.Status, Is.EqualTo(503), "a stream asked for during the cut is refused at once");
    }

    [Test]
    public void TheModule_StopsShowingARunningClockWithin3s_AndIsRightWithin5sOfTheHeal()
    {
        var lines = _module.ToList();
        var lastRunning = lines.Where(l => l.ShowsRunning && l.When < _healedAt).Select(l => l.When).Max();
        Assert.That(lastRunning - _pauseCommittedAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(3)),
            $"the module showed a running clock until +{Ms(lastRunning)} ms; the pause committed at +{Ms(_pauseCommittedAt)} ms");
        var frozen = lines.Where(l => l.Stale && l.When < _healedAt).ToList();
        Assert.That(frozen, Is.Not.Empty, "it said stale");
        Assert.That(frozen.Select(l => l.ElapsedMs).Distinct().Count(), Is.EqualTo(1), "and held the display still");
        var right = lines.FirstOrDefault(l => l.When > _healedAt && l.IsPaused && !l.Stale);
        Assert.That(right, Is.Not.Null, "the module shows the pause after the heal");
        Assert.That(right!.When - _healedAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(lines.Where(l => l.When > right.When).Select(l => l.ShowsRunning), Is.All.False, "and keeps showing it");
    }

    [Test]
    public void TheCutReplica_IsRightAgainWithin5sOfTheHeal_WithoutARestart()
    {
        Assert.That(FirstRight(_gets) - _healedAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(5)), "GET /clock answers the pause");
        Assert.That(FirstRight(_readiness) - _healedAt, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(5)), "/readyz is ready");
        Assert.That(_gets.Where(g => g.SentAt > FirstRight(_gets)).Select(g => g.Status), Is.All.EqualTo(200));
    }

    [Test]
    public void TheWebhookEndpoint_Answers503Promptly_AndTakesTheEventOnceHealed()
    {
        Assert.That(_webhooks.Select(w => w.Status), Is.All.EqualTo(503), "LiveKit retries a 5xx");
        Assert.That(_webhooks.Max(w => w.Took), Is.LessThan(TimeSpan.FromSeconds(1.5)));
        Assert.That(_webhookAfterHeal.Status, Is.EqualTo(200), "the retry is recorded once the path is back");
        var left = _host.LiveKit.Webhooks.History.Single(d => d.Event == "participant_left");
        Assert.That(left.Attempts, Is.GreaterThan(1), "the simulator's own participant_left was refused and retried: " + left);
    }

    [Test]
    public void ThePoll_RunsOnTheOtherReplica_AndPausesOnce_WithNothingHalfApplied()
    {
        // Whichever replica held Quartz's trigger at the cut, B ran the poll that paused: within the grace, one poll
        // interval and, if A had the trigger or a tick in flight, the cluster takeover: A is failed out two check-ins
        // after its last one, B sees it at its next check-in, and a [DisallowConcurrentExecution] job that A was
        // running is recovered one check-in later still (check-in 1 s here).
        var bound = ShortGrace + Poll + 4 * TimeSpan.FromSeconds(1) + Slack;
        Assert.That(_pauseCommittedAt - _leftAt, Is.LessThanOrEqualTo(bound));
        Assert.That(_pauseCommittedAt, Is.LessThan(_healedAt), "paused during the cut");
        Assert.That(_events.Select(e => (e.Type, e.Source)), Is.EqualTo(new[] { ("started", "poll"), ("paused", "poll") }).Or
            .EqualTo(new[] { ("started", "webhook"), ("paused", "poll") }), "each once, whatever A had in flight");
    }

    private static double Ms(DateTime at, DateTime from) => Math.Round((at - from).TotalMilliseconds);

    private double Ms(DateTime at) => Ms(at, _cutAt);

    private bool RightAgain(IEnumerable<Answer> answers) => answers.Any(g => g.SentAt > _healedAt && g.Status == 200 && g.Paused != false);

    private DateTime FirstRight(IEnumerable<Answer> answers) =>
        answers.Where(g => g.SentAt > _healedAt && g.Status == 200 && g.Paused != false).Select(g => g.At).DefaultIfEmpty(DateTime.MaxValue).Min();

    private async Task<DateTime> WhenPausedAsync(TimeSpan timeout)
    {
        var clock = await _host.UntilClockAsync(_session, c => c.Paused(), timeout, "the pause through B's path");
        Assert.That(clock.Paused(), Is.True);
        return DateTime.UtcNow;
    }

    private static string Webhook(string id) => JsonSerializer.Serialize(new
    {
        @event = "room_started", id, room = new { name = "silent-path-check" }, createdAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
    });

    private static async Task<int> StatusAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        return (int)response.StatusCode;
    }

    private static async Task<Answer> TimedAsync(Func<Task<int?>> call)
    {
        var sentAt = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        var status = await call();
        return new Answer(sentAt, watch.Elapsed, status ?? 0, null);
    }

    private static Task<Answer> TimedAsync(Func<Task<int>> call) => TimedAsync(async () => (int?)await call());

    /// <summary>Asks <paramref name="url"/> every 100 ms, each answer timed (a timeout counts as status 0).</summary>
    private static async Task Watch(HttpClient http, string url, ConcurrentQueue<Answer> answers, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var sentAt = DateTime.UtcNow;
            var watch = Stopwatch.StartNew();
            try
            {
                using var response = await http.GetAsync(url, stop);
                var body = await response.Content.ReadAsStringAsync(stop);
                bool? paused = response.IsSuccessStatusCode && body.StartsWith('{') ? JsonDocument.Parse(body).RootElement.Paused() : null;
                answers.Enqueue(new Answer(sentAt, watch.Elapsed, (int)response.StatusCode, paused));
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested) { return; }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                answers.Enqueue(new Answer(sentAt, watch.Elapsed, 0, null));
            }
            await Task.Delay(100, CancellationToken.None);
        }
    }

    private async Task<Stream> OpenStreamAsync(HttpClient http, string a)
    {
        var response = await http.GetAsync($"{a}/clock/{_session}/stream", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStreamAsync();
    }

    private async Task ReadStreamAsync(Stream stream, CancellationToken stop)
    {
        using var reader = new StreamReader(stream);
        try
        {
            while (await reader.ReadLineAsync(stop) is { } line)
                if (line.StartsWith("event: ", StringComparison.Ordinal)) _stream.Enqueue((DateTime.UtcNow, line[7..]));
            _streamEndedAt = DateTime.UtcNow;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException) { }
    }

    /// <summary>The real clock module, in Node, following A as a browser would (polls every second while stale).</summary>
    private ModuleProcess StartModule(string a)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { DemoPageTests.RepositoryFile("src/clock-client/testing/follow.js"), a, _session.ToString("D"), "1000", "50" })
            start.ArgumentList.Add(arg);
        var node = Process.Start(start)!;
        node.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line) _module.Enqueue(JsonSerializer.Deserialize<ModuleLine>(line, new JsonSerializerOptions(JsonSerializerDefaults.Web))!);
        };
        node.ErrorDataReceived += (_, e) => { if (e.Data is not null) TestContext.Progress.WriteLine("[module] " + e.Data); };
        node.BeginOutputReadLine();
        node.BeginErrorReadLine();
        return new ModuleProcess(node);
    }

    /// <summary>Stops the Node process when disposed (Process.Dispose alone would leave it running).</summary>
    private sealed class ModuleProcess(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
            process.Dispose();
        }
    }
}
