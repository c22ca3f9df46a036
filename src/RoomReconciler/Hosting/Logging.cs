using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace RoomReconciler.Hosting;

/// <summary>
/// Serilog: readable, dated console lines for operators tailing (Log:Format=text, the default), compact JSON for
/// collectors (Log:Format=json). Under systemd each line starts with its syslog priority (&lt;3&gt; error ...
/// &lt;7&gt; debug), which journald strips and files as the entry's level.
/// </summary>
public static class Logging
{
    // The date too: lines read days later (a support case, a file someone saved) must say when they happened.
    private const string Timestamp = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} ";
    private const string Text = Timestamp + "{Level:u3} {SourceContext:l}: {Message:lj}{NewLine}{Exception}";

    public static LoggerConfiguration Configure(LoggerConfiguration logger, IConfiguration configuration, IServiceProvider? services = null)
    {
        logger.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            // Off rather than Warning: while this category is on at any level, ASP.NET Core gives every request an
            // Activity and a log scope, held for as long as the request lasts (for a clock stream, hours), and writes
            // nothing else. Each request's line is RequestLogging's below.
            .MinimumLevel.Override("Microsoft.AspNetCore.Hosting.Diagnostics", LevelAlias.Off)
            .MinimumLevel.Override("Quartz", LogEventLevel.Warning)
            .MinimumLevel.Override("Polly", LogEventLevel.Warning)
            .ReadFrom.Configuration(configuration)
            .Enrich.FromLogContext();
        if (services is not null) logger.ReadFrom.Services(services);
        if (configuration.BindKeyedOptions<LogOptions>().Format == LogFormat.Json)
            return logger.WriteTo.Console(new CompactJsonFormatter());
        if (UnderJournald)
            return logger.Enrich.With<SyslogPriority>().WriteTo.Console(outputTemplate: "<{SyslogPriority}>" + Text.Replace(Timestamp, ""));
        return logger.WriteTo.Console(outputTemplate: Text);
    }

    /// <summary>systemd sets JOURNAL_STREAM when a service's output goes to the journal.</summary>
    private static bool UnderJournald => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));

    private sealed class SyslogPriority : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory factory) =>
            logEvent.AddPropertyIfAbsent(factory.CreateProperty("SyslogPriority", logEvent.Level switch
            {
                LogEventLevel.Fatal => 2,
                LogEventLevel.Error => 3,
                LogEventLevel.Warning => 4,
                LogEventLevel.Information => 6,
                _ => 7,
            }));
    }
}

/// <summary>
/// One line per request. Successful reads (clock snapshots, streams, probes, scrapes) are Debug: at thousands a second
/// they would drown everything else; webhooks, rejections and failures are Information or Error.
/// </summary>
public static class RequestLogging
{
    public static void Configure(Serilog.AspNetCore.RequestLoggingOptions options)
    {
        options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} {StatusCode} in {Elapsed:0.0} ms";
        options.GetLevel = (context, _, error) =>
            error is not null || context.Response.StatusCode >= 500 ? LogEventLevel.Error
            : HttpMethods.IsGet(context.Request.Method) && context.Response.StatusCode < 400 ? LogEventLevel.Debug
            : LogEventLevel.Information;
    }
}
