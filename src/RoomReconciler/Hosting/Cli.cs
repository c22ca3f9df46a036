using System.Reflection;
using Microsoft.Extensions.Options;
using RoomReconciler.Database;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Hosting;

/// <summary>The commands of the one executable: run (default), migrate, check, --help.</summary>
public static class Cli
{
    public const string Help = """
        RoomReconciler: keeps the clock of paid LiveKit video sessions honest.

        Usage: RoomReconciler [command] [--Key=value ...]

        Commands:
          run       (default) serve the clock API and reconcile LiveKit rooms with the session clocks
          migrate   apply db/migrations to ConnectionStrings:Postgres and exit
          check     validate the configuration, reach PostgreSQL and LiveKit, check migrations; exit non-zero on any problem
          sessions  see and change which sessions the clock tracks (`sessions` alone prints its usage)
          events    outbound events: `events status`, `events replay --endpoint N --since <time|sequence>` (alone: its usage)
          migrations  the migrations for psql or the Supabase CLI: `migrations export --supabase DIR` (alone: its usage)
          --help    this text
          --version the version

        Configuration (appsettings.json, environment variables with __ for :, or --Key=value):
          ConnectionStrings:Postgres   the database (required)
          LiveKit:Url                  the LiveKit server, http(s):// or ws(s):// (required)
          LiveKit:ApiKey               LiveKit API key (required)
          LiveKit:ApiSecret            LiveKit API secret (required)
          LiveKit:RequestsPerMinute    RoomService calls all replicas together may make a minute (default 600; 0: no limit)
          LiveKit:RequestWindow        the window that budget is counted over (default 00:01:00, LiveKit Cloud's)
          Reconciler:PollInterval      how often every room is reconciled (default 00:00:10)
          Reconciler:GracePeriod       how long participants may be missing before the clock pauses (default 00:00:30)
          Reconciler:MinParticipants   counted participants needed for the clock to run (default 2)
          Reconciler:RoomNamePrefix    room name = prefix + session id (default empty)
          Reconciler:AutoStart         start a clock when its participants are first all present (default true)
          Reconciler:CountedKinds      participant kinds that keep a clock running (default ["STANDARD"])
          ClockApi:RequireToken        /clock needs a LiveKit join token for the session's room (default true)
          ClockApi:StreamHeartbeat     comment heartbeat on clock streams (default 00:00:15)
          ClockApi:MaxStreamsPerToken  open clock streams one join token may hold; past it 429 (default 4)
          ClockApi:MaxStreams          open clock streams in all; past it 429 (default: what the memory limit holds, 1000-50000)
          Events:Endpoints:N:Url       where clock transitions are POSTed as Standard Webhooks (default none: no events)
          Events:Endpoints:N:Secret    its whsec_ secret(s), space-separated to rotate
          Events:RetrySchedule         delays between attempts (default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 1 d, 1 d)
          Events:Timeout               how long one attempt may take (default 00:00:10)
          Events:PollInterval          the longest delivery waits without a notification (default 00:00:05)
          Demo:Enabled                 serve the demo page /demo/{sessionId} (default false; ./run.sh sets it)
          Log:Format                   text (default) or json
          Serilog:MinimumLevel:Default log level (default Information)
          Urls                         listen addresses (default http://0.0.0.0:8080)
          Management:Port              serve /metrics, /healthz, /readyz on this port alone (default 0: the public port)
          OTEL_EXPORTER_OTLP_ENDPOINT  send traces and metrics over OTLP (and the other standard OTEL_* variables)
        """;

    /// <summary>
    /// The commands, by name. A new command is one entry here and one line in <see cref="Help"/>; each gets the
    /// arguments after its name, already checked by <see cref="CommandLine"/>.
    /// </summary>
    private static readonly Dictionary<string, Command> Commands = new()
    {
        ["run"] = new((options, _) => RunDaemonAsync(options)),
        ["migrate"] = new((options, _) => MigrateAsync(options)),
        ["check"] = new((options, _) => CheckAsync(options)),
        ["sessions"] = new((options, words) => TrackedSessionsCommand.RunAsync(
            DaemonHost.CreateBuilder(options).Configuration.BindKeyedOptions<PostgresOptions>().Postgres!, words, Console.Out, Console.Error),
            TakesWords: true),
        ["events"] = new((options, words) => Events.EventsCommand.RunAsync(
            DaemonHost.CreateBuilder(options).Configuration.BindKeyedOptions<PostgresOptions>().Postgres!, words, Console.Out, Console.Error),
            TakesWords: true, Flags: Events.EventsCommand.Flags),
        ["migrations"] = new((_, words) => Task.FromResult(MigrationsCommand.Run(Migrator.DefaultFolder, words, Console.Out, Console.Error)),
            TakesWords: true, Flags: [MigrationsCommand.SupabaseFlag]),
    };

    /// <param name="Run">runs with the configuration options and the words (the arguments that are not options)</param>
    /// <param name="TakesWords">whether words may follow the command (`sessions track ID`); elsewhere a word is a mistake</param>
    /// <param name="Flags">--words the command reads itself (`migrations export --supabase DIR`) rather than configuration keys</param>
    private sealed record Command(Func<string[], IReadOnlyList<string>, Task<int>> Run, bool TakesWords = false, string[]? Flags = null);

    public static string Version =>
        typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static async Task<int> RunAsync(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
        var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        if (args.Any(a => a is "--help" or "-h" or "-?") || command == "help")
        {
            Console.Out.WriteLine(Help);
            return 0;
        }
        if (args.Contains("--version"))
        {
            Console.Out.WriteLine($"RoomReconciler {Version}");
            return 0;
        }
        if (!Commands.TryGetValue(command, out var run)) return Usage($"unknown command '{command}'");
        if (CommandLine.Problem(rest, run.TakesWords, out var options, out var words, run.Flags) is { } problem) return Usage(problem);
        try
        {
            return await run.Run(options, words);
        }
        catch (Exception e) when (ConfigurationProblem(e) is { } configurationProblem)
        {
            return Fail($"configuration error: {configurationProblem}");
        }
    }

    private static async Task<int> RunDaemonAsync(string[] args)
    {
        var app = DaemonHost.Build(args);
        var pending = await DatabaseWait.UntilReachableAsync(args, app.Configuration.BindKeyedOptions<PostgresOptions>().Postgres!);
        if (pending is null) return 0;
        if (pending.Count > 0) return Fail(MigrationStatus.Behind(pending));
        await app.RunAsync();
        return 0;
    }

    private static async Task<int> MigrateAsync(string[] args)
    {
        var configuration = DaemonHost.CreateBuilder(args).Configuration;
        var connectionString = configuration.BindKeyedOptions<PostgresOptions>().Postgres!;
        try
        {
            var run = new Migrator(connectionString).Migrate();
            await ReconcilerRegistration.ProvisionQuartzSchemaAsync(connectionString, CancellationToken.None);
            if (run.Recorded.Count > 0)
                Console.Out.WriteLine($"found {run.Recorded.Count} migration(s) applied by another tool, now recorded: {string.Join(", ", run.Recorded)}");
            Console.Out.WriteLine(run.Applied.Count == 0
                ? "database is up to date; nothing to apply"
                : $"applied {run.Applied.Count} migration(s): {string.Join(", ", run.Applied)}");
            return 0;
        }
        // Evolve reports an unreachable database from its constructor, unwrapped.
        catch (Exception e) when (e is MigrationException or EvolveDb.EvolveException or Quartz.SchedulerException || DatabaseFailure.IsUnavailable(e))
        {
            return Fail($"migration of {DatabaseTarget.Describe(connectionString)} failed: {DatabaseFailure.Reason(e)}");
        }
    }

    private static async Task<int> CheckAsync(string[] args)
    {
        var app = DaemonHost.Build(args);
        var failed = false;
        foreach (var check in app.Services.GetServices<IStartupCheck>())
        {
            var result = await check.CheckAsync(CancellationToken.None);
            Console.Out.WriteLine(result.Line(check.Name));
            failed |= result.Failure is not null;
        }
        return failed ? 1 : 0;
    }

    /// <summary>One line naming the key, for a configuration that cannot be bound or does not validate.</summary>
    private static string? ConfigurationProblem(Exception e) => e switch
    {
        OptionsValidationException v => string.Join("; ", v.Failures),
        InvalidOperationException { InnerException: FormatException or InvalidOperationException or ArgumentException } i
            when i.Message.Contains("configuration value", StringComparison.OrdinalIgnoreCase) =>
            $"{i.Message} {i.InnerException!.Message}",
        AggregateException a when a.InnerExceptions.Count > 0 => ConfigurationProblem(a.InnerExceptions[0]),
        _ when e.InnerException is not null => ConfigurationProblem(e.InnerException),
        _ => null,
    };

    private static int Usage(string problem) => Fail($"{problem}\n\n{Help}");

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}
