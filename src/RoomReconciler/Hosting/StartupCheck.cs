namespace RoomReconciler.Hosting;

/// <summary>Something `check` verifies, on one line of its own.</summary>
public interface IStartupCheck
{
    string Name { get; }
    Task<StartupCheckResult> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>
/// What a <see cref="IStartupCheck"/> found: a failure with what is wrong in one line, or a pass, perhaps with what it
/// measured (<see cref="Note"/>); a pass with a warning prints WARN but does not fail the command (exit code 0).
/// </summary>
public sealed record StartupCheckResult
{
    private StartupCheckResult(string? failure, string? note, bool warning) => (Failure, Note, Warning) = (failure, note, warning);

    /// <summary>What is wrong, in one line; null when the check passed.</summary>
    public string? Failure { get; }

    /// <summary>After a pass: a measurement worth printing, or the warning.</summary>
    public string? Note { get; }

    public bool Warning { get; }

    public static StartupCheckResult Passed(string? note = null) => new(null, note, false);

    public static StartupCheckResult PassedWithWarning(string warning) => new(null, warning, true);

    public static StartupCheckResult Failed(string reason) => new(reason, null, false);

    /// <summary>The line `check` prints: status, name, and the failure or the note.</summary>
    public string Line(string name) =>
        $"{(Failure is not null ? "FAIL" : Warning ? "WARN" : "ok  ")} {name}{((Failure ?? Note) is { } text ? ": " + text : "")}";
}
