using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RoomReconciler.Events;
using RoomReconciler.Hosting;
using RoomReconciler.Tests.Operations;

namespace RoomReconciler.Tests.Events;

public sealed class EventsOptionsTests
{
    private static EventsOptions Bind(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build()
            .BindKeyedOptions<EventsOptions>();

    [Test]
    public void Defaults_NoEndpoint_AndAScheduleOfAboutThreeDays()
    {
        var options = Bind();
        Assert.That(options.Endpoints, Is.Empty);
        Assert.That(options.Schedule().Take(7), Is.EqualTo(new[] { "00:00:05", "00:05:00", "00:30:00", "02:00:00", "05:00:00", "10:00:00", "10:00:00" }.Select(TimeSpan.Parse)));
        Assert.That(options.Schedule().Skip(7), Has.All.EqualTo(TimeSpan.FromDays(1)), "then daily");
        Assert.That(options.Schedule().Aggregate(TimeSpan.Zero, (a, b) => a + b).TotalDays, Is.InRange(2.9, 3.2));
    }

    [Test]
    public void AConfiguredSchedule_ReplacesTheDefault_AndEndpointsBindByNumber()
    {
        var options = Bind(("Events:RetrySchedule:0", "00:00:01"), ("Events:RetrySchedule:1", "00:00:02"),
            ("Events:Endpoints:0:Url", "https://app.example/hooks"), ("Events:Endpoints:0:Secret", Receiver.Secret + " " + Receiver.Secret));
        Assert.That(options.Schedule(), Is.EqualTo(new[] { TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2) }));
        Assert.That(options.Endpoints.Single().Secrets(), Has.Count.EqualTo(2), "space-separated secrets, for a rotation");
    }

    [TestCase("Events:Endpoints:0:Url", "ftp://app.example/hooks", "Events:Endpoints:0:Url must be an absolute http(s) URL (got 'ftp://app.example/hooks')")]
    [TestCase("Events:Endpoints:0:Secret", "", "Events:Endpoints:0:Secret is required: a whsec_ secret (whsec_ then base64)")]
    [TestCase("Events:Endpoints:0:Secret", "sk_live_abcdefabcdefabcdefabcdefabcdef", "Events:Endpoints:0:Secret: secret 1 is not whsec_ followed by base64 of at least 24 bytes")]
    [TestCase("Events:RetrySchedule:0", "-00:00:01", "Events:RetrySchedule:0 must be a positive duration such as 00:00:10 (got -00:00:01)")]
    [TestCase("Events:Timeout", "00:00:00", "Events:Timeout must be a positive duration such as 00:00:10 (got 00:00:00)")]
    [TestCase("Events:Retries", "3", "Events:Retries is not a configuration key (known in Events: Endpoints, RetrySchedule, Timeout, PollInterval)")]
    public void ABadKey_IsRefusedNamingIt_WithoutEchoingASecret(string key, string value, string message)
    {
        var settings = new List<(string, string)> { ("Events:Endpoints:0:Url", "https://app.example/hooks"), ("Events:Endpoints:0:Secret", Receiver.Secret) };
        settings.RemoveAll(s => s.Item1 == key);
        settings.Add((key, value));
        var refused = Assert.Throws<OptionsValidationException>(() => Bind([.. settings]))!;
        Assert.That(refused.Failures, Is.EqualTo(new[] { message }));
        Assert.That(refused.Message, Does.Not.Contain("abcdef"));
    }

    [Test]
    public async Task Check_WithABadEndpoint_StopsWithOneLineNamingTheKey()
    {
        var check = await DaemonCommand.RunAsync(["check", "--ConnectionStrings:Postgres=Host=127.0.0.1;Port=1", "--LiveKit:Url=http://127.0.0.1:1",
            "--LiveKit:ApiKey=k", "--LiveKit:ApiSecret=s", "--Events:Endpoints:0:Url=not a url", "--Events:Endpoints:0:Secret=" + Receiver.Secret]);
        Assert.That(check.ExitCode, Is.EqualTo(2));
        Assert.That(check.Output, Does.Contain("configuration error: Events:Endpoints:0:Url must be an absolute http(s) URL (got 'not a url')"));
    }
}
