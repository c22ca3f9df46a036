using System.Net;
using RoomReconciler.Tests.Clock;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Browser;

/// <summary>GET /demo/{id} over HTTP: only when Demo:Enabled, and serving the clock module itself.</summary>
public sealed class DemoPageTests
{
    private ClockDatabase _db = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _db = await ClockDatabase.CreateAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _db.DisposeAsync();

    [Test]
    public async Task ByDefault_TheDemoIsNotServed()
    {
        await using var host = await ClockHost.StartAsync(_db.ConnectionString, waitForListener: false);
        var session = await _db.NewSessionAsync();
        foreach (var path in new[] { $"/demo/{session}", "/demo/assets/session-clock.js" })
        {
            using var response = await host.Client.GetAsync(path);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), path);
        }
    }

    [Test]
    public async Task Enabled_ServesThePage_AndTheClientModuleFromTheSource()
    {
        await using var host = await ClockHost.StartAsync(_db.ConnectionString, waitForListener: false, "--Demo:Enabled=true");
        var session = await _db.NewSessionAsync();

        using var page = await host.Client.GetAsync($"/demo/{session}");
        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(page.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        var html = await page.Content.ReadAsStringAsync();
        Assert.That(html, Does.Contain("id=\"elapsed\"").And.Contain("id=\"elapsed-2\"").And.Contain("./assets/session-clock.js"));

        using var module = await host.Client.GetAsync("/demo/assets/session-clock.js");
        Assert.That(module.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(module.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/javascript"));
        Assert.That(await module.Content.ReadAsStringAsync(), Is.EqualTo(await File.ReadAllTextAsync(RepositoryFile("src/clock-client/session-clock.js"))),
            "the daemon serves src/clock-client/session-clock.js as built, not a copy that could drift");

        using var malformed = await host.Client.GetAsync("/demo/not-a-session");
        Assert.That(malformed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    /// <summary>A file of the repository, found upwards from the test binaries.</summary>
    public static string RepositoryFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RoomReconciler.sln"))) return Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException("the repository root (RoomReconciler.sln) is not above " + AppContext.BaseDirectory);
    }
}
