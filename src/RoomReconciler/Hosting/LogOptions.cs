namespace RoomReconciler.Hosting;

/// <summary>The Log section: how log lines are written (levels are Serilog:MinimumLevel's).</summary>
public sealed class LogOptions : IKeyedOptions
{
    public static string Section => "Log";

    public LogFormat Format { get; set; } = LogFormat.Text;

    public IEnumerable<string> Validate() =>
        Enum.IsDefined(Format) ? [] : [$"Log:Format must be text or json (got {Format})"];
}

public enum LogFormat
{
    /// <summary>Readable lines for operators tailing a terminal or the journal.</summary>
    Text,

    /// <summary>Compact JSON (CLEF), one object a line, for collectors.</summary>
    Json,
}
