namespace RoomReconciler.Hosting;

/// <summary>
/// What a passing <see cref="IStartupCheck"/> measured and wants on its `check` line; a warning prints WARN but does
/// not fail the command (exit code 0).
/// </summary>
public sealed record StartupNote(string Text, bool Warning);
