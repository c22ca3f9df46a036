namespace RoomReconciler.LiveKit;

/// <summary>
/// Told of every new (deduplicated, verified) LiveKit webhook event, in arrival order, once it is recorded and before
/// the webhook is answered: LiveKit sends one event at a time per room and waits for our answer before the next
/// (docs/livekit.md §4). So a handler must be quick (enqueue work, do not do it), and an exception is logged and
/// skipped. Events may still be lost (LiveKit drops some, a crash loses queued work), so a handler may only make
/// something happen sooner that polling would do anyway.
/// </summary>
public interface IRoomEventHandler
{
    ValueTask HandleAsync(WebhookEvent evt, CancellationToken ct);
}
