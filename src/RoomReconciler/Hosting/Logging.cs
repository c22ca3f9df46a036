using Serilog;
using Serilog.Formatting.Compact;

namespace RoomReconciler.Hosting;

/// <summary>Serilog: readable console lines for operators tailing, compact JSON (Log:Format=json) for collectors.</summary>
public static class Logging
{
    public static LoggerConfiguration Configure(LoggerConfiguration logger, IConfiguration configuration, IServiceProvider? services = null)
    {
        logger.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
            .MinimumLevel.Override("Quartz", Serilog.Events.LogEventLevel.Warning)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext();
        if (services is not null) logger.ReadFrom.Services(services);
        var format = configuration["Log:Format"] ?? "text";
        return format.Equals("json", StringComparison.OrdinalIgnoreCase)
            ? logger.WriteTo.Console(new CompactJsonFormatter())
            : logger.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {SourceContext:l}: {Message:lj}{NewLine}{Exception}");
    }
}
