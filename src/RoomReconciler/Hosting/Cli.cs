using Microsoft.Extensions.Options;
using Npgsql;
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
          --help    this text

        Configuration (appsettings.json, environment variables with __ for :, or --Key=value):
          ConnectionStrings:Postgres   the database (required)
          LiveKit:Url                  the LiveKit server, http(s):// or ws(s):// (required)
          LiveKit:ApiKey               LiveKit API key (required)
          LiveKit:ApiSecret            LiveKit API secret (required)
          Reconciler:PollInterval      how often every room is reconciled (default 00:00:10)
          Reconciler:GracePeriod       how long participants may be missing before the clock pauses (default 00:00:30)
          Reconciler:MinParticipants   counted participants needed for the clock to run (default 2)
          Reconciler:RoomNamePrefix    room name = prefix + session id (default empty)
          Reconciler:AutoStart         start a clock when its participants are first all present (default true)
          Reconciler:CountedKinds      participant kinds that keep a clock running (default ["STANDARD"])
          ClockApi:RequireToken        /clock needs a LiveKit join token for the session's room (default true)
          ClockApi:StreamHeartbeat     comment heartbeat on clock streams (default 00:00:15)
          Demo:Enabled                 serve the demo page /demo/{sessionId} (default false; ./run.sh sets it)
          Log:Format                   text (default) or json
          Serilog:MinimumLevel:Default log level (default Information)
          Urls                         listen addresses (default http://0.0.0.0:8080)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "run";
        var rest = args.Length > 0 && !args[0].StartsWith('-') ? args[1..] : args;
        if (args.Any(a => a is "--help" or "-h" or "-?") || command == "help")
        {
            Console.Out.WriteLine(Help);
            return 0;
        }
        try
        {
            return command switch
            {
                "run" => await RunDaemonAsync(rest),
                "migrate" => await MigrateAsync(rest),
                "check" => await CheckAsync(rest),
                "sessions" => await TrackedSessionsCommand.RunAsync(
                    DaemonHost.CreateBuilder(rest).Configuration.BindKeyedOptions<PostgresOptions>().Postgres!, rest, Console.Out, Console.Error),
                _ => Fail($"unknown command '{command}'; run with --help for the list"),
            };
        }
        catch (Exception e) when (ConfigurationProblem(e) is { } problem)
        {
            return Fail($"configuration error: {problem}");
        }
    }

    private static async Task<int> RunDaemonAsync(string[] args)
    {
        var app = DaemonHost.Build(args);
        var pending = await new Migrator(app.Configuration.BindKeyedOptions<PostgresOptions>().Postgres!).GetPendingAsync(CancellationToken.None);
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
            var applied = new Migrator(connectionString).Migrate();
            await ReconcilerRegistration.ProvisionQuartzSchemaAsync(connectionString, CancellationToken.None);
            Console.Out.WriteLine(applied.Count == 0
                ? "database is up to date; nothing to apply"
                : $"applied {applied.Count} migration(s): {string.Join(", ", applied)}");
            return 0;
        }
        catch (Exception e) when (e is MigrationException or NpgsqlException or Quartz.SchedulerException)
        {
            return Fail($"migration failed: {e.Message}");
        }
    }

    private static async Task<int> CheckAsync(string[] args)
    {
        var app = DaemonHost.Build(args);
        var problems = new List<string>();
        foreach (var check in app.Services.GetServices<IStartupCheck>())
        {
            var problem = await check.CheckAsync(CancellationToken.None);
            Console.Out.WriteLine($"{(problem is null ? "ok  " : "FAIL")} {check.Name}{(problem is null ? "" : ": " + problem)}");
            if (problem is not null) problems.Add(problem);
        }
        return problems.Count == 0 ? 0 : 1;
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

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}

/// <summary>Something `check` verifies: null when fine, else what is wrong in one line.</summary>
public interface IStartupCheck
{
    string Name { get; }
    Task<string?> CheckAsync(CancellationToken cancellationToken);
}
