using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using RoomReconciler.Hosting;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Operations;

/// <summary>
/// The daemon started before its database, as under Kubernetes, Compose or systemd, then used as an operator would:
/// probes and scrapes on a separate management port, telemetry to an OTLP collector. One real process and one real
/// PostgreSQL started late; the setup records what an operator would see and each test checks one part of it.
/// </summary>
[NonParallelizable]
public sealed partial class LateDatabaseTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private PostgresCluster _cluster = null!;
    private OtlpReceiver _otlp = null!;
    private DaemonCommand _daemon = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private string _public = "", _management = "";

    private HttpResponseMessage _livenessBefore = null!, _readinessBefore = null!;
    private string _readinessBeforeText = "";
    private List<string> _linesBefore = [];
    private TimeSpan _readyAfter;

    [OneTimeSetUp]
    public async Task StartDaemonBeforeTheDatabaseAsync()
    {
        _cluster = await PostgresCluster.StartAsync();
        await PostgresCluster.ExecuteAsync(_cluster.ConnectionString(), "CREATE DATABASE clocks");
        var database = _cluster.ConnectionString("clocks");
        Assert.That(await Cli.RunAsync(["migrate", $"--ConnectionStrings:Postgres={database}"]), Is.Zero);
        await _cluster.StopServerAsync();

        _otlp = await OtlpReceiver.StartAsync();
        int publicPort = DaemonCommand.FreePort(), managementPort = DaemonCommand.FreePort();
        _public = $"http://127.0.0.1:{publicPort}";
        _management = $"http://127.0.0.1:{managementPort}";
        _daemon = DaemonCommand.Start(
        [
            "run", $"--Urls={_public}", $"--Management:Port={managementPort}", $"--ConnectionStrings:Postgres={database}",
            "--LiveKit:Url=http://127.0.0.1:9", "--LiveKit:ApiKey=key", "--LiveKit:ApiSecret=secret-of-at-least-32-characters-long",
            "--Reconciler:PollInterval=00:00:01",
        ], new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = _otlp.Url,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "roomreconciler-under-test",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });

        _livenessBefore = (await UntilAsync(() => GetAsync(_management + "/healthz"), r => r?.StatusCode == HttpStatusCode.OK, "liveness without the database"))!;
        // Long enough for several tries: each must be one warning line.
        await Task.Delay(TimeSpan.FromSeconds(4));
        _readinessBefore = (await GetAsync(_management + "/readyz"))!;
        _readinessBeforeText = await _readinessBefore.Content.ReadAsStringAsync();
        _linesBefore = _daemon.Lines.ToList();

        await _cluster.StartServerAsync();
        var appeared = Stopwatch.StartNew();
        await UntilAsync(() => GetAsync(_management + "/readyz"), r => r?.StatusCode == HttpStatusCode.OK, "readiness once PostgreSQL is up");
        _readyAfter = appeared.Elapsed;

        // A clock request and a (rejected) webhook, for their spans.
        await GetAsync($"{_public}/clock/{Guid.NewGuid():D}");
        await _http.PostAsync(_public + "/livekit/webhook", new StringContent("{}"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _daemon.DisposeAsync();
        await _otlp.DisposeAsync();
        await _cluster.DisposeAsync();
        _http.Dispose();
    }

    [Test]
    public void WithoutTheDatabase_ItIsLiveAndNotReadySayingWhy()
    {
        Assert.That(_daemon.HasExited, Is.False);
        Assert.That(_livenessBefore.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(_readinessBefore.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(_readinessBeforeText, Does.Contain($"waiting for PostgreSQL at 127.0.0.1:{_cluster.Port}/clocks"));
    }

    [Test]
    public void EachTry_IsOneWarningLineWithoutAStackTrace()
    {
        var warnings = _linesBefore.Where(l => l.Contains(" WRN ") && l.Contains($"PostgreSQL at 127.0.0.1:{_cluster.Port}/clocks is not available")).ToList();
        Assert.That(warnings, Has.Count.GreaterThanOrEqualTo(2), string.Join("\n", _linesBefore));
        Assert.That(_linesBefore.Where(l => l.Contains(" WRN ") || l.Contains(" ERR ")), Is.EquivalentTo(warnings), "no other warning or error");
        Assert.That(_daemon.Output, Does.Not.Match(@"(?m)^\s+at ").And.Not.Contain("Exception:"));
    }

    [Test]
    public void Readiness_ComesWithinSecondsOfTheDatabaseAppearing() =>
        Assert.That(_readyAfter, Is.LessThan(TimeSpan.FromSeconds(10)));

    [Test]
    public void LogLines_CarryTheDate()
    {
        var today = DateTime.Now.ToString("yyyy-MM-dd");
        Assert.That(_daemon.Lines.Where(l => l.Contains(" INF ") || l.Contains(" WRN ")), Is.Not.Empty.And.All.Match(@"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} [+-]\d{2}:\d{2} "));
        Assert.That(_daemon.Lines[0], Does.StartWith(today).Or.StartWith(DateTime.Now.AddDays(-1).ToString("yyyy-MM-dd")));
    }

    [Test]
    public async Task ManagementEndpoints_AnswerOnTheManagementPortAlone()
    {
        foreach (var path in new[] { "/healthz", "/readyz", "/metrics" })
        {
            Assert.That((await GetAsync(_management + path))!.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
            Assert.That((await GetAsync(_public + path))!.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), path);
        }
        Assert.That((await GetAsync($"{_management}/clock/{Guid.NewGuid():D}"))!.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await GetAsync($"{_public}/clock/{Guid.NewGuid():D}"))!.StatusCode, Is.Not.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Metrics_AreTheDaemonsFamiliesInPrometheusNamingWithoutConnectionDetails()
    {
        var text = await (await GetAsync(_management + "/metrics"))!.Content.ReadAsStringAsync();
        var families = TypeLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.That(families.Keys, Has.Member("roomreconciler_reconcile_ticks_total").And.Member("roomreconciler_clock_transitions_total")
            .And.Member("roomreconciler_reconcile_tick_duration_seconds"));
        Assert.That(families.Keys, Has.None.StartsWith("private_").And.None.StartsWith("microsoft_").And.None.StartsWith("npgsql"));
        Assert.Multiple(() =>
        {
            foreach (var (name, type) in families)
            {
                if (type == "counter") Assert.That(name, Does.EndWith("_total"), "a counter");
                if (type == "histogram") Assert.That(name, Does.EndWith("_seconds").Or.EndWith("_bytes"), "a histogram has a base unit");
                if (type == "gauge") Assert.That(name, Does.Not.EndWith("_total"), "a gauge is no counter");
            }
        });
        Assert.That(text, Does.Not.Contain("127.0.0.1").And.Not.Contain("Username").And.Not.Contain($"{_cluster.Port}").And.Not.Contain("clocks\""));
    }

    [Test]
    public async Task TracesAndMetrics_ReachTheOtlpCollector()
    {
        string[] spans = ["reconcile tick", "clock snapshot", "livekit webhook"];
        var traces = await UntilAsync(() => Task.FromResult(_otlp.Received("/v1/traces")), t => spans.All(t.Contains), "the spans at the collector");
        Assert.That(traces, Does.Contain("roomreconciler-under-test"), "OTEL_SERVICE_NAME names the service");
        Assert.That(traces, Does.Contain("RoomReconciler.Reconciliation").And.Contain("postgresql"), "the daemon's sources and Npgsql's spans");
        string[] families = ["http.server.request.duration", "roomreconciler_reconcile_ticks_total", "roomreconciler_clock_requests_total", "roomreconciler_reconcile_tick_duration_seconds_count"];
        var metrics = await UntilAsync(() => Task.FromResult(_otlp.Received("/v1/metrics")), m => families.All(m.Contains), "metrics at the collector");
        Assert.That(metrics, Does.Contain("roomreconciler-under-test"));
    }

    private async Task<HttpResponseMessage?> GetAsync(string url)
    {
        try { return await _http.GetAsync(url); }
        catch (HttpRequestException) { return null; }
    }

    private static Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what) =>
        Eventually.Async(read, condition, Patience, what);

    [GeneratedRegex(@"(?m)^# TYPE (\S+) (\S+)$")]
    private static partial Regex TypeLine();
}
