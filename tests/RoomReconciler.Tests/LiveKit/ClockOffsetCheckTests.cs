using Microsoft.Extensions.DependencyInjection;
using RoomReconciler.Hosting;
using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Scenarios;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>`check` reports our offset from LiveKit (its Date header) and from PostgreSQL, wired as the daemon wires it.</summary>
[NonParallelizable]
public sealed class ClockOffsetCheckTests
{
    private static async Task<(string? Problem, StartupCheckResult Result, TimeSpan LiveKit)> CheckAsync(TimeSpan liveKitOffset)
    {
        await using var host = await ScenarioHost.CreateAsync(liveKitTime: new OffsetTime(liveKitOffset));
        await using var app = DaemonHost.Build(host.DaemonArgs());
        var check = app.Services.GetServices<IStartupCheck>().OfType<ClockOffsetCheck>().Single();
        var result = await check.CheckAsync(CancellationToken.None);
        return (result.Failure, result, await check.LiveKitOffsetAsync(CancellationToken.None));
    }

    [Test]
    public async Task InSync_IsOk_AndReportsBothOffsets()
    {
        var (problem, result, measured) = await CheckAsync(TimeSpan.Zero);
        Assert.That(problem, Is.Null);
        Assert.That(result.Warning, Is.False, result.Note);
        Assert.That(result.Note, Does.Contain("LiveKit ").And.Contain("PostgreSQL "));
        Assert.That(measured.Duration(), Is.LessThan(TimeSpan.FromMilliseconds(300)), "measured from the Date header's tick, not to the second");
    }

    [Test]
    public async Task LiveKitAheadByMoreThanASecond_IsAWarning_NotAFailure()
    {
        var (problem, result, measured) = await CheckAsync(TimeSpan.FromSeconds(2.5));
        Assert.That(problem, Is.Null);
        Assert.That(result.Warning, Is.True);
        Assert.That(result.Note, Does.Contain("LiveKit +2.").And.Contain("ahead of ours"));
        Assert.That(measured.TotalSeconds, Is.EqualTo(2.5).Within(0.3));
    }

    [Test]
    public async Task LiveKitBeyondTheTokenLeeway_Fails()
    {
        var (problem, _, _) = await CheckAsync(TimeSpan.FromSeconds(-90));
        Assert.That(problem, Does.Match(@"LiveKit -(89\.[89]|90\.[01])\d* s behind ours").And.Contain("NTP"));
    }
}
