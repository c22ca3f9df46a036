using Npgsql;
using RoomReconciler.Database;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Database;

/// <summary>`RoomReconciler sessions ...` and the line `check` prints about tracking.</summary>
public sealed class TrackedSessionsTests
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(string connectionString, params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var code = await TrackedSessionsCommand.RunAsync(connectionString, args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Test]
    public async Task Operators_SeeAndChangeWhatIsTracked()
    {
        await using var db = await ClockDatabase.CreateAsync();
        var (a, b) = (await db.NewSessionAsync(), await db.NewSessionAsync());
        await db.TransitionAsync("start", a, null);

        Assert.That((await RunAsync(db.ConnectionString, "status")).Out.Trim(), Is.EqualTo("2 tracked (2 not ended), 0 not tracked"));
        Assert.That(await RunAsync(db.ConnectionString, "untrack", a.ToString()), Is.EqualTo((0, $"{a:D} not tracked\n", "")));
        Assert.That((await db.GetAsync(a)).Time("started_at"), Is.Null, "an untracked session reads as not started");
        Assert.That((await RunAsync(db.ConnectionString, "untracked")).Out, Does.StartWith($"{a:D} started_at=20"));
        Assert.That((await RunAsync(db.ConnectionString, "track", a.ToString(), b.ToString())).Code, Is.Zero);
        Assert.That((await db.GetAsync(a)).Time("started_at"), Is.Not.Null, "tracked again, its clock is back");

        var check = new TrackedSessionsCheck(db.DataSource);
        // What `check` prints: ok, the name, then the note.
        Assert.That((await check.CheckAsync(CancellationToken.None)).Line(check.Name), Is.EqualTo("ok   tracked sessions: 2 tracked (2 not ended), 0 not tracked"));
    }

    [Test]
    public async Task TheHttpApi_FollowsTracking()
    {
        await using var db = await ClockDatabase.CreateAsync();
        var session = await db.NewSessionAsync();
        await db.TransitionAsync("start", session, (await db.NowAsync()).AddMinutes(-5));
        await using var host = await Clock.ClockHost.StartAsync(db.ConnectionString);

        async Task<System.Text.Json.JsonElement> GetAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/clock/{session}")
            {
                Headers = { { "Authorization", "Bearer " + Clock.ClockHost.Token(session) } },
            };
            using var answer = await host.Client.SendAsync(request);
            return System.Text.Json.JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.Clone();
        }

        Assert.That((await GetAsync()).Elapsed(), Is.GreaterThan(4 * 60_000));
        await RunAsync(db.ConnectionString, "untrack", session.ToString());
        await Eventually.Async(GetAsync, c => c.Elapsed() == 0 && c.Time("started_at") is null, TimeSpan.FromSeconds(10),
            "the API to read the untracked session as not started");
        await RunAsync(db.ConnectionString, "track", session.ToString());
        await Eventually.Async(GetAsync, c => c.Elapsed() > 4 * 60_000, TimeSpan.FromSeconds(10), "the API to read the clock again");
    }

    [Test]
    public async Task BadInput_IsRefused_AndChangesNothing()
    {
        await using var db = await ClockDatabase.CreateAsync();
        var a = await db.NewSessionAsync();
        Assert.That((await RunAsync(db.ConnectionString)).Code, Is.EqualTo(2));
        Assert.That((await RunAsync(db.ConnectionString, "frobnicate")).Code, Is.EqualTo(2));
        var notAnId = await RunAsync(db.ConnectionString, "untrack", a.ToString(), "42");
        Assert.That((notAnId.Code, notAnId.Err.Contains("'42' is not a session id")), Is.EqualTo((2, true)));
        var unknown = await RunAsync(db.ConnectionString, "track", Guid.NewGuid().ToString());
        Assert.That((unknown.Code, unknown.Err.Contains("no such session")), Is.EqualTo((1, true)));
        Assert.That((await RunAsync(db.ConnectionString, "status")).Out.Trim(), Is.EqualTo("1 tracked (1 not ended), 0 not tracked"), "nothing changed");

        var down = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Port = 1, Timeout = 2 }.ConnectionString;
        var failed = await RunAsync(down, "status");
        Assert.That((failed.Code, failed.Err.StartsWith("sessions: cannot use the database")), Is.EqualTo((1, true)), failed.Err);
    }
}
