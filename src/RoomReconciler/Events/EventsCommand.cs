using System.Globalization;
using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Hosting;

namespace RoomReconciler.Events;

/// <summary>`RoomReconciler events ...`: the operator's view of the outbox, and replay (src/RoomReconciler/Events/README.md).</summary>
public static class EventsCommand
{
    public const string Usage = """
        Usage: RoomReconciler events [--Key=value ...] <subcommand>
          status                                       per endpoint: backlog, oldest undelivered event, dead events (the first 50)
          replay --endpoint N --since <time|sequence>  send endpoint N's events again from an ISO time (their commit) or from a
                                                       sequence number (that one and later, of every session); dead ones included,
                                                       and a disabled endpoint is enabled
        """;

    /// <summary>The words that are this command's own options rather than configuration keys.</summary>
    public static readonly string[] Flags = ["--endpoint", "--since"];

    /// <returns>0 done; 1 no such endpoint, or the database cannot be used; 2 bad usage</returns>
    public static Task<int> RunAsync(string connectionString, IReadOnlyList<string> words, TextWriter output, TextWriter error) =>
        OperatorCommand.RunAsync("events", () => RunCheckedAsync(connectionString, words, output, error), error);

    private static async Task<int> RunCheckedAsync(string connectionString, IReadOnlyList<string> words, TextWriter output, TextWriter error)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var store = new OutboxStore(dataSource);
        switch (words)
        {
            case ["status"]:
                await StatusAsync(store, output);
                return 0;
            case ["replay", ..] when Options(words.Skip(1).ToList()) is { } options:
                if (!options.TryGetValue("--endpoint", out var endpointText) || !int.TryParse(endpointText, NumberStyles.None, CultureInfo.InvariantCulture, out var endpoint))
                    return UsageError(error, "replay needs --endpoint N, N the endpoint's number in Events:Endpoints:N");
                if (!options.TryGetValue("--since", out var since)) return UsageError(error, "replay needs --since <ISO time|sequence>");
                long? sequence = long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s >= 1 ? s : null;
                DateTime? time = sequence is null && DateTime.TryParse(since, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : null;
                if (sequence is null && time is null)
                    return UsageError(error, $"--since '{since}' is neither a sequence number (1 or more) nor an ISO time such as 2026-12-01T10:00:00Z");
                var count = await store.ReplayAsync(endpoint, time, sequence, CancellationToken.None);
                if (count is null)
                {
                    error.WriteLine($"events: no endpoint {endpoint} (see `events status`)");
                    return 1;
                }
                output.WriteLine($"endpoint {endpoint}: {count} deliveries due again");
                return 0;
            default:
                return UsageError(error, words.Count == 0 ? "missing subcommand" : $"unknown or incomplete subcommand '{string.Join(' ', words)}'");
        }
    }

    private static async Task StatusAsync(OutboxStore store, TextWriter output)
    {
        foreach (var e in await store.StatusAsync(CancellationToken.None))
            output.WriteLine($"endpoint {e.Id} {e.Url}{(e.Configured ? "" : " (not configured)")}" +
                             $"{(e.DisabledAt is { } at ? $" DISABLED at {ClockTime.Iso(at)} ({e.DisabledReason})" : "")}: " +
                             $"backlog={e.Backlog} dead={e.Dead} oldest_undelivered={ClockTime.Iso(e.OldestUndelivered) ?? "none"}");
        foreach (var d in await store.DeadAsync(50, CancellationToken.None))
            output.WriteLine($"dead endpoint={d.EndpointId} event={d.EventId:D} session={d.SessionId:D} sequence={d.Sequence} type={d.Type} " +
                             $"created_at={ClockTime.Iso(d.CreatedAt)} attempts={d.Attempts} last={(d.LastStatus?.ToString(CultureInfo.InvariantCulture) ?? "no answer")} {d.LastError}");
    }

    /// <summary>--name value pairs; null when a word is not one of <see cref="Flags"/> or lacks its value.</summary>
    private static Dictionary<string, string>? Options(IReadOnlyList<string> words)
    {
        var options = new Dictionary<string, string>();
        for (var i = 0; i < words.Count; i += 2)
        {
            if (!Flags.Contains(words[i]) || i + 1 >= words.Count) return null;
            options[words[i]] = words[i + 1];
        }
        return options;
    }

    private static int UsageError(TextWriter error, string problem) => OperatorCommand.UsageError("events", Usage, error, problem);
}
