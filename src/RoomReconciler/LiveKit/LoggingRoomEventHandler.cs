namespace RoomReconciler.LiveKit;

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
