using RoomReconciler.Clock;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Tests.Operations;

/// <summary>Each host counts into its own registry: two hosts in one process (as in these tests) never mix their counts.</summary>
public sealed class MetricsIsolationTests
{
    [Test]
    public async Task TwoHostsInOneProcess_CountApart()
    {
        await using var first = MetricsHost.Build();
        await using var second = MetricsHost.Build();

        first.Get<ReconcilerMetrics>().Tick();
        first.Get<ReconcilerMetrics>().Tick();
        first.Get<ReconcilerMetrics>().Transition(ClockTransition.Paused, ClockSource.Poll);
        first.Get<LiveKitMetrics>().Call("ListRooms", "Timeout");
        first.Get<ClockMetrics>().StreamOpened();
        first.Get<ClockMetrics>().Answered("snapshot", 404);
        second.Get<ReconcilerMetrics>().Tick();

        var one = await first.ScrapeAsync();
        var two = await second.ScrapeAsync();
        Assert.That(one, Does.Contain("\nroomreconciler_reconcile_ticks_total 2\n"));
        Assert.That(one, Does.Contain("\nroomreconciler_clock_transitions_total{kind=\"paused\",source=\"poll\"} 1\n"));
        Assert.That(one, Does.Contain("\nroomreconciler_livekit_errors_total{method=\"ListRooms\",reason=\"Timeout\"} 1\n"));
        Assert.That(one, Does.Contain("\nroomreconciler_clock_stream_subscribers 1\n"));
        Assert.That(one, Does.Contain("\nroomreconciler_clock_requests_total{endpoint=\"snapshot\",status=\"404\"} 1\n"));
        Assert.That(two, Does.Contain("\nroomreconciler_reconcile_ticks_total 1\n"));
        Assert.That(two, Does.Contain("\nroomreconciler_clock_stream_subscribers 0\n"));
        Assert.That(two, Does.Not.Contain("kind=\"paused\"").And.Not.Contain("reason=\"Timeout\"").And.Not.Contain("status=\"404\""));
    }

    [Test]
    public async Task EveryFamily_IsDeclaredBeforeItsFirstSample()
    {
        await using var host = MetricsHost.Build();
        var families = MetricsHost.Families(await host.ScrapeAsync());
        Assert.That(families, Does.ContainKey("roomreconciler_clock_transitions_total").WithValue("counter"));
        Assert.That(families, Does.ContainKey("roomreconciler_reconcile_tick_duration_seconds").WithValue("histogram"));
        Assert.That(families, Does.ContainKey("roomreconciler_livekit_last_read_timestamp_seconds").WithValue("gauge"));
        Assert.That(families, Does.ContainKey("roomreconciler_webhooks_rejected_total").WithValue("counter"));
        Assert.That(families.Keys, Has.Some.StartsWith("process_"));
    }
}
