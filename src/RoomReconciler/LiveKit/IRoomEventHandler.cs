namespace RoomReconciler.LiveKit;

/// <summary>
/// Told of every new (deduplicated, verified) LiveKit webhook event, off the request path: events are queued and
/// handed to each registered handler in turn, one event at a time, in arrival order. A handler must be quick
/// (schedule work, do not do it): a slow one delays every later event. An exception is logged and skipped.
/// Events may still be lost (LiveKit drops some, a full queue drops more, a crash loses the queue), so a handler
/// may only make something happen sooner that polling would do anyway.
/// </summary>
public interface IRoomEventHandler
{
    ValueTask HandleAsync(WebhookEvent evt, CancellationToken ct);
}

/// <summary>Logs each event: what LiveKit told us, for operators following a session.</summary>
public sealed class LoggingRoomEventHandler(ILogger<LoggingRoomEventHandler> logger) : IRoomEventHandler
{
    public ValueTask HandleAsync(WebhookEvent evt, CancellationToken ct)
    {
        logger.LogInformation("LiveKit {Event} {EventId}: room {Room}, participant {Identity} ({ParticipantSid}, {Kind}, {State})",
            evt.Event, evt.Id, evt.Room?.Name, evt.Participant?.Identity, evt.Participant?.Sid,
            evt.Participant?.Kind, evt.Participant?.State);
        return ValueTask.CompletedTask;
    }
}
