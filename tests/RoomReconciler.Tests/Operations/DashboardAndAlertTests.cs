using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RoomReconciler.Tests.Operations;

/// <summary>
/// deploy/grafana and deploy/prometheus: they load, they cover what operators watch, and every series they query is
/// one the daemon exports (a renamed metric would otherwise leave an empty panel and an alert that never fires).
/// </summary>
public sealed partial class DashboardAndAlertTests
{
    private static readonly JsonObject Dashboard =
        JsonNode.Parse(File.ReadAllText(Manifests.Path("deploy", "grafana", "roomreconciler-dashboard.json")))!.AsObject();

    private static readonly JsonArray Rules =
        Manifests.Parse(File.ReadAllText(Manifests.Path("deploy", "prometheus", "roomreconciler-alerts.yaml")))[0]["groups"]![0]!["rules"]!.AsArray();

    /// <summary>The metric families the daemon exports, as a built host's /metrics declares them.</summary>
    private static async Task<IReadOnlySet<string>> Exported()
    {
        await using var host = MetricsHost.Build();
        return MetricsHost.Families(await host.ScrapeAsync()).Keys.ToHashSet();
    }

    private static IEnumerable<string> Queries() =>
        Dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => (string)t!["expr"]!)
            .Concat(Rules.Select(r => (string)r!["expr"]!));

    [Test]
    public async Task EveryQueriedSeries_IsOneTheDaemonExports()
    {
        var exported = await Exported();
        var queried = Queries().SelectMany(q => MetricName().Matches(q).Select(m => Regex.Replace(m.Value, "_(bucket|sum|count)$", ""))).ToHashSet();
        Assert.That(queried, Is.Not.Empty);
        Assert.That(queried, Is.SubsetOf(exported));
    }

    [TestCase("roomreconciler_reconcile_ticks_total")]
    [TestCase("roomreconciler_clock_transitions_total")]
    [TestCase("roomreconciler_webhooks_rejected_total")]
    [TestCase("roomreconciler_livekit_errors_total")]
    [TestCase("roomreconciler_clock_stream_subscribers")]
    [TestCase("roomreconciler_events_delivered_total")]
    [TestCase("roomreconciler_events_failed_total")]
    [TestCase("roomreconciler_events_backlog")]
    [TestCase("roomreconciler_events_oldest_undelivered_seconds")]
    [TestCase("roomreconciler_livekit_budget_used_ratio")]
    [TestCase("roomreconciler_livekit_throttled_total")]
    [TestCase("roomreconciler_reconcile_verification_period_seconds")]
    public void TheDashboard_Shows(string metric) =>
        Assert.That(Dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => (string)t!["expr"]!), Has.Some.Contains(metric));

    [TestCase("roomreconciler_livekit_last_read_timestamp_seconds", "> 30")]
    [TestCase("roomreconciler_reconcile_tick_failures_total", "> 0")]
    [TestCase("roomreconciler_reconcile_tick_duration_seconds_bucket", "> 10")]
    [TestCase("roomreconciler_webhooks_rejected_total", "> 0")]
    [TestCase("roomreconciler_sessions_max_duration_total", "> 0")]
    [TestCase("roomreconciler_events_oldest_undelivered_seconds", "> 900")]
    [TestCase("roomreconciler_events_dead_total", "> 0")]
    [TestCase("roomreconciler_events_endpoint_disabled_total", "> 0")]
    [TestCase("roomreconciler_livekit_throttled_total", "> 0")]
    [TestCase("roomreconciler_reconcile_verification_period_seconds", "> 300")]
    public void AnAlert_Watches(string metric, string threshold)
    {
        var rule = Rules.SingleOrDefault(r => ((string)r!["expr"]!).Contains(metric));
        Assert.That(rule, Is.Not.Null, $"an alert on {metric}");
        Assert.That((string)rule!["expr"]!, Does.Contain(threshold));
        Assert.That(rule["alert"], Is.Not.Null);
        Assert.That(rule["for"], Is.Not.Null);
        Assert.That(rule["labels"]?["severity"], Is.Not.Null);
        Assert.That(rule["annotations"]?["summary"], Is.Not.Null);
    }

    [GeneratedRegex(@"\broomreconciler_[a-z0-9_]+")]
    private static partial Regex MetricName();
}
