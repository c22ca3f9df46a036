using Npgsql;

namespace RoomReconciler.LiveKit;

/// <summary>The durable "seen" set of webhook event ids (table livekit_webhook_events, migration V004).</summary>
public sealed class WebhookEventStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>LiveKit's retries of one event span about a minute (5 attempts, back-off up to 30 s); a day is ample.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    /// <summary>Old rows are deleted at most this often, riding along with an insert.</summary>
    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);

    /// <summary>The longest recording may take before the webhook is answered 503 (an insert takes a millisecond).</summary>
    public static readonly TimeSpan RecordWait = TimeSpan.FromMilliseconds(800);

    private long _nextPruneTicks;

    /// <returns>true when the event is new, false when its id was seen before</returns>
    public async Task<bool> TryRecordAsync(WebhookEvent evt, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        var insert = new NpgsqlBatchCommand(
            "INSERT INTO roomreconciler.livekit_webhook_events (id, event, room, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING")
        {
            Parameters =
            {
                new() { Value = evt.Id },
                new() { Value = evt.Event },
                new() { Value = evt.Room?.Name is { Length: > 0 } room ? room : DBNull.Value },
                new() { Value = CreatedAt(evt) is { } createdAt ? createdAt : DBNull.Value },
            },
        };
        batch.BatchCommands.Add(insert);
        if (PruneDue())
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                "DELETE FROM roomreconciler.livekit_webhook_events WHERE received_at < clock_timestamp() - $1")
            { Parameters = { new() { Value = Retention } } });
        await batch.ExecuteNonQueryAsync(ct);
        return insert.RecordsAffected == 1;
    }

    private bool PruneDue()
    {
        var now = time.GetUtcNow().UtcTicks;
        var next = Interlocked.Read(ref _nextPruneTicks);
        return now >= next && Interlocked.CompareExchange(ref _nextPruneTicks, now + PruneEvery.Ticks, next) == next;
    }

    private static DateTime? CreatedAt(WebhookEvent evt) =>
        evt.CreatedAt is > 0 and < 253402300799 ? DateTimeOffset.FromUnixTimeSeconds(evt.CreatedAt).UtcDateTime : null;
}
