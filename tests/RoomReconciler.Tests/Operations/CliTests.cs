namespace RoomReconciler.Tests.Operations;

/// <summary>The command line as an operator meets it: the real executable, its exit code and what it prints.</summary>
public sealed class CliTests
{
    private const string UsageLine = "Usage: RoomReconciler [command]";

    /// <summary>A configuration that passes validation and names a database where nothing listens.</summary>
    private static string[] Configuration(int port) =>
    [
        $"--ConnectionStrings:Postgres=Host=127.0.0.1;Port={port};Database=clocks;Username=daemon;Password=s3cret-pw;Timeout=3",
        "--LiveKit:Url=http://127.0.0.1:9", "--LiveKit:ApiKey=key", "--LiveKit:ApiSecret=secret-of-at-least-32-characters-long",
    ];

    [Test]
    public async Task Version_PrintsTheVersionAndExits0()
    {
        await using var run = await DaemonCommand.RunAsync(["--version"]);
        Assert.That(run.ExitCode, Is.Zero);
        Assert.That(run.Output, Does.Match(@"^RoomReconciler \d+\.\d+\.\d+"));
        Assert.That(run.Output, Does.Not.Contain("listening"));
    }

    [TestCase("--verbose")]
    [TestCase("--Version")]
    [TestCase("-x")]
    [TestCase("run", "--Reconcilr:GracePeriod=00:00:05")]
    [TestCase("serve")]
    public async Task AnUnknownFlagOrCommand_Exits2WithUsage(params string[] args)
    {
        await using var run = await DaemonCommand.RunAsync(args);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Output);
        Assert.That(run.Output, Does.Contain(UsageLine));
        Assert.That(run.Output, Does.Contain(args[^1].Split('=')[0]), "the message names what was not understood");
    }

    [TestCase("Reconciler:GracePeriodd")]
    [TestCase("LiveKit:ApiSecrett")]
    [TestCase("ClockApi:RequireTokens")]
    [TestCase("Demo:Enable")]
    [TestCase("Log:Formats")]
    [TestCase("Management:Prot")]
    public async Task AnUnknownKeyInADaemonSection_IsRefusedAtStartNamingIt(string key)
    {
        await using var run = await DaemonCommand.RunAsync(["run", .. Configuration(DaemonCommand.FreePort()), $"--{key}=1"]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Output);
        Assert.That(run.Output, Does.Contain($"{key} is not a configuration key"));
        Assert.That(run.Output, Does.Not.Contain("listening"));
    }

    [TestCase("ClockApi:MaxStreamsPerToken", "0")]
    [TestCase("ClockApi:MaxStreams", "-1")]
    public async Task AStreamLimitBelowOne_IsRefusedAtStartNamingIt(string key, string value)
    {
        await using var run = await DaemonCommand.RunAsync(["run", .. Configuration(DaemonCommand.FreePort()), $"--{key}={value}"]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Output);
        Assert.That(run.Output, Does.Contain($"{key} must be at least 1 (got {value})"));
        Assert.That(run.Output, Does.Not.Contain("listening"));
    }

    [Test]
    public async Task AnUnknownKeyFromTheEnvironment_IsRefusedToo()
    {
        await using var run = await DaemonCommand.RunAsync(["run", .. Configuration(DaemonCommand.FreePort())],
            new Dictionary<string, string> { ["Reconciler__PollIntervall"] = "00:00:01" });
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Output);
        Assert.That(run.Output, Does.Contain("Reconciler:PollIntervall is not a configuration key"));
    }

    [Test]
    public async Task RunWaitingForTheDatabase_StopsAtOnceOnSigterm()
    {
        await using var run = DaemonCommand.Start(["run", $"--Urls=http://127.0.0.1:{DaemonCommand.FreePort()}", .. Configuration(DaemonCommand.FreePort())]);
        await Support.Eventually.Async(() => Task.FromResult(run.Output), o => o.Contains("is not available") || run.HasExited,
            TimeSpan.FromSeconds(60), "the first warning");
        Assert.That(run.HasExited, Is.False, run.Output);
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        Assert.That(await run.TerminateAsync(), Is.Zero, run.Output);
        Assert.That(stopping.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [TestCase("migrate", 2)]
    [TestCase("check", 1)]
    public async Task MigrateAndCheckWithoutTheDatabase_FailInOneLineNamingIt(string command, int exitCode)
    {
        var port = DaemonCommand.FreePort();
        await using var run = await DaemonCommand.RunAsync([command, .. Configuration(port)]);
        Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.Output);
        var lines = run.Lines.Where(l => l.Contains($"PostgreSQL at 127.0.0.1:{port}/clocks")).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), run.Output);
        Assert.That(run.Output, Does.Not.Contain("s3cret-pw"));
        Assert.That(run.Output, Does.Not.Match(@"(?m)^\s+at ").And.Not.Contain("Unhandled exception"));
    }

    [Test]
    public async Task MigrationsExport_WritesEveryScriptForTheSupabaseCli_UnderItsFixedVersion()
    {
        var folder = Path.Combine(Directory.CreateTempSubdirectory("roomreconciler-export-").FullName, "supabase", "migrations");
        await using var run = await DaemonCommand.RunAsync(["migrations", "export", "--supabase", folder]);

        Assert.That(run.ExitCode, Is.Zero, run.Output);
        var scripts = Directory.GetFiles(Support.TestDatabase.MigrationsFolder, "V*__*.sql").Select(Path.GetFileName).Order().ToList();
        var exported = Directory.GetFiles(folder).Select(Path.GetFileName).Order().ToList();
        Assert.That(exported, Is.EqualTo(scripts.Select(s => $"20261201{int.Parse(s![1..4]):D6}_roomreconciler_{s[6..]}")));
        Assert.That(File.ReadAllText(Path.Combine(folder, exported[0]!)), Is.EqualTo(File.ReadAllText(Path.Combine(Support.TestDatabase.MigrationsFolder, scripts[0]!))),
            "each file is the script as it is");
    }

    [TestCase]
    [TestCase("export", "DIR")]
    [TestCase("export", "--supabase")]
    public async Task MigrationsWithoutAFullSubcommand_Exits2WithItsUsage(params string[] words)
    {
        await using var run = await DaemonCommand.RunAsync(["migrations", .. words]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Output);
        Assert.That(run.Output, Does.Contain("export --supabase DIR"));
    }
}
