using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.LiveKit;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.LiveKit;

/// <summary>The request budget against a real PostgreSQL: one window shared by every replica, spent by priority.</summary>
public sealed class RequestBudgetTests
{
    private ClockDatabase _db = null!;
    private ServiceProvider _meters = null!;

    [SetUp]
    public async Task CreateDatabase()
    {
        _db = await ClockDatabase.CreateAsync();
        _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    }

    [TearDown]
    public async Task DropDatabase()
    {
        await _meters.DisposeAsync();
        await _db.DisposeAsync();
    }

    /// <summary>A replica's budget: its own data source on the shared database, as each daemon has.</summary>
    private RequestBudget Replica(NpgsqlDataSource dataSource, int perWindow = 100, TimeSpan? window = null) => new(
        Options.Create(new LiveKitOptions { RequestsPerMinute = perWindow, RequestWindow = window ?? TimeSpan.FromMinutes(1) }),
        new LiveKitMetrics(_meters.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()), TimeProvider.System,
        NullLogger<RequestBudget>.Instance, dataSource);

    [Test]
    public async Task TwoReplicasAskingAtOnce_TogetherNeverExceedTheBudget()
    {
        await using var other = NpgsqlDataSource.Create(_db.ConnectionString);
        var (a, b) = (Replica(_db.DataSource), Replica(other));
        var grants = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            (i % 2 == 0 ? a : b).TakeUpToAsync(RequestPriority.GraceDeadline, 7, CancellationToken.None).AsTask()));
        Assert.That(grants.Sum(), Is.EqualTo(100), "all of the budget, and not one call more, between the two");
        Assert.That(await a.TakeUpToAsync(RequestPriority.GraceDeadline, 1, CancellationToken.None), Is.Zero);
    }

    [Test]
    public async Task EachPriority_SpendsOnlyUpToItsShare_LeavingTheRestForMoreValuableCalls()
    {
        var budget = Replica(_db.DataSource);
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Verification, 1000, CancellationToken.None), Is.EqualTo(75), "the sweep gets what is left below 75%");
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Listing, 1000, CancellationToken.None), Is.EqualTo(15), "changed listings up to 90%");
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Webhook, 1000, CancellationToken.None), Is.EqualTo(5), "webhooks up to 95%");
        Assert.That(await budget.TakeUpToAsync(RequestPriority.GraceDeadline, 1000, CancellationToken.None), Is.EqualTo(5), "a due grace may use it all");
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Verification, 1, CancellationToken.None), Is.Zero);
    }

    [Test]
    public async Task ASweepTakenEveryTick_SpendsItsSharePaced_LeavingTheWindowForChangedListings()
    {
        // A 60 s window, a tick every 10 s: the sweep's 75 a window comes as ⌈75 / 6⌉ = 13 a tick, not 75 at once.
        var budget = Replica(_db.DataSource);
        var every = TimeSpan.FromSeconds(10);
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Verification, 1000, CancellationToken.None, every), Is.EqualTo(13));
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Verification, 5, CancellationToken.None, every), Is.EqualTo(5), "fewer wanted, fewer taken");
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Listing, 1000, CancellationToken.None), Is.EqualTo(72), "changed listings find the rest of their 90%");
        Assert.That(budget.Paced(RequestPriority.Verification, TimeSpan.FromMinutes(5)), Is.EqualTo(75), "never more than the share itself");
    }

    [Test]
    public async Task ASpentWindow_FreesAsItSlides_AndAWaitingCallGoesThen()
    {
        var window = TimeSpan.FromMilliseconds(600);
        var budget = Replica(_db.DataSource, perWindow: 5, window: window);
        Assert.That(await budget.TakeUpToAsync(RequestPriority.GraceDeadline, 5, CancellationToken.None), Is.EqualTo(5));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        await budget.WaitAsync(RequestPriority.GraceDeadline, CancellationToken.None);
        Assert.That(waited.Elapsed, Is.GreaterThan(window * 0.9), "the call waited for the window to slide, not for a retry");
        Assert.That(waited.Elapsed, Is.LessThan(window * 3));
    }

    [Test]
    public async Task A429_HoldsEveryReplicaOffForItsRetryAfter()
    {
        await using var other = NpgsqlDataSource.Create(_db.ConnectionString);
        await Replica(_db.DataSource).ThrottledAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.That(await Replica(other).TakeUpToAsync(RequestPriority.GraceDeadline, 1, CancellationToken.None), Is.Zero,
            "the other replica is held off too");
    }

    [Test]
    public async Task NoLimit_SpendsNothingAndAsksNothing()
    {
        var budget = Replica(_db.DataSource, perWindow: 0);
        Assert.That(await budget.TakeUpToAsync(RequestPriority.Verification, 5000, CancellationToken.None), Is.EqualTo(5000));
        Assert.That(await CountAsync("SELECT count(*) FROM roomreconciler.livekit_requests"), Is.Zero);
    }

    [TestCase("SELECT * FROM roomreconciler.livekit_budget_take(0, 600, interval '1 minute')")]
    [TestCase("SELECT * FROM roomreconciler.livekit_budget_take(1, -1, interval '1 minute')")]
    [TestCase("SELECT * FROM roomreconciler.livekit_budget_take(1, 600, interval '0')")]
    [TestCase("SELECT roomreconciler.livekit_budget_hold(interval '2 minutes', 600, interval '1 minute')")]
    public async Task BadArguments_AreAClearErrorAndChangeNothing(string sql)
    {
        await using var command = _db.DataSource.CreateCommand(sql);
        var e = Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.That(e!.SqlState, Is.EqualTo(PostgresErrorCodes.InvalidParameterValue));
        Assert.That(e.MessageText, Does.StartWith("livekit_budget_"), "the message names the function");
        Assert.That(await CountAsync("SELECT count(*) FROM roomreconciler.livekit_requests"), Is.Zero);
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var command = _db.DataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
