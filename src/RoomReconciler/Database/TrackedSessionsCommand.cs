using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Hosting;

namespace RoomReconciler.Database;

/// <summary>`RoomReconciler sessions ...`: the operator's view of what the clock tracks (docs/install.md).</summary>
public static class TrackedSessionsCommand
{
    public const string Usage = """
        Usage: RoomReconciler sessions [--Key=value ...] <subcommand>
          status                 how many sessions are tracked and not tracked
          untracked [N]          the first N (default 50) untracked sessions that are not ended, newest start first
          track <id> [<id>...]   track these sessions from now on (their clock reads from their started_at)
          untrack <id> [<id>...] stop tracking these sessions (their clock reads as not started; the reconciler leaves them)
        """;

    /// <returns>0 done; 1 some id does not exist, or the database cannot be used; 2 bad usage</returns>
    public static Task<int> RunAsync(string connectionString, IReadOnlyList<string> words, TextWriter output, TextWriter error) =>
        OperatorCommand.RunAsync("sessions", () => RunCheckedAsync(connectionString, words, output, error), error);

    private static async Task<int> RunCheckedAsync(string connectionString, IReadOnlyList<string> words, TextWriter output, TextWriter error)
    {
        if (words.Count == 0) return UsageError(error, "missing subcommand");
        var ids = words.Skip(1).Select(w => Guid.TryParseExact(w, "D", out var id) ? id : (Guid?)null).ToList();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var sessions = new TrackedSessions(dataSource);
        switch (words[0])
        {
            case "status" when words.Count == 1:
                output.WriteLine(await sessions.CountAsync(CancellationToken.None));
                return 0;
            case "untracked" when words.Count <= 2:
                var limit = 50;
                if (words.Count == 2 && (!int.TryParse(words[1], out limit) || limit < 1)) return UsageError(error, $"'{words[1]}' is not a positive count");
                foreach (var (id, startedAt) in await sessions.ListUntrackedOpenAsync(limit, CancellationToken.None))
                    output.WriteLine($"{id:D} started_at={ClockTime.Iso(startedAt?.ToUnixTimeMilliseconds()) ?? "null"}");
                return 0;
            case "track" or "untrack" when words.Count > 1:
                if (ids.IndexOf(null) is var bad and >= 0) return UsageError(error, $"'{words[bad + 1]}' is not a session id (a UUID)");
                var wanted = ids.OfType<Guid>().Distinct().ToList();
                var found = await sessions.SetTrackedAsync(wanted, words[0] == "track", CancellationToken.None);
                foreach (var id in wanted)
                    if (found.Contains(id)) output.WriteLine($"{id:D} {(words[0] == "track" ? "tracked" : "not tracked")}");
                    else error.WriteLine($"{id:D} no such session");
                return found.Count == wanted.Count ? 0 : 1;
            default:
                return UsageError(error, $"unknown or incomplete subcommand '{string.Join(' ', words)}'");
        }
    }

    private static int UsageError(TextWriter error, string problem) => OperatorCommand.UsageError("sessions", Usage, error, problem);
}
