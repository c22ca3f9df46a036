using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Database;
using RoomReconciler.Demo;
using RoomReconciler.Events;
using RoomReconciler.LiveKit;
using RoomReconciler.Reconciliation;
using RoomReconciler.Timeline;
using Serilog;

namespace RoomReconciler.Hosting;

/// <summary>Builds the one host: configuration, logging, the database, and each feature's services and routes.</summary>
public static class DaemonHost
{
    public static WebApplicationBuilder CreateBuilder(string[] args) =>
        WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            // appsettings.json ships beside the binary, so the daemon finds it whatever the working directory.
            ContentRootPath = AppContext.BaseDirectory,
        });

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = CreateBuilder(args);
        var configuration = builder.Configuration;

        builder.Host.UseSystemd();
        builder.Services.AddSerilog((services, logger) => Logging.Configure(logger, configuration, services));
        builder.Services.AddKeyedOptions<LogOptions>(configuration);
        builder.AddManagementPort();
        builder.Services.AddTelemetry(configuration);

        builder.Services.AddKeyedOptions<PostgresOptions>(configuration);
        builder.Services.AddKeyedOptions<LiveKitOptions>(configuration);
        builder.Services.AddKeyedOptions<ReconcilerOptions>(configuration);

        var connectionString = configuration.BindKeyedOptions<PostgresOptions>().Postgres!;
        // Named: metrics and traces identify the pool by this rather than by host, user and database.
        builder.Services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString) { Name = "roomreconciler" }.Build());
        builder.Services.AddSingleton<IStartupCheck, DatabaseCheck>();
        builder.Services.AddProblemDetails();
        builder.Services.AddHealth();
        builder.Services.AddClockApi(configuration);
        builder.Services.AddTimeline();
        builder.Services.AddDemo(configuration);
        builder.Services.AddOpenApi();

        builder.Services.AddLiveKit(configuration);
        builder.Services.AddReconciler(configuration, connectionString);
        builder.Services.AddEvents(configuration);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseSerilogRequestLogging(RequestLogging.Configure);
        app.MapManagementEndpoints();
        app.UseSessionAccess();
        app.MapOpenApi();
        app.MapClockApi();
        app.MapTimelineApi();
        app.MapDemoApi();
        app.MapWebhookApi();
        return app;
    }
}
