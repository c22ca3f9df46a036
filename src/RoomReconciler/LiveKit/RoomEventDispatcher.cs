using System.Threading.Channels;

namespace RoomReconciler.LiveKit;

/// <summary>
/// Hands accepted webhook events to the <see cref="IRoomEventHandler"/>s without holding up the webhook's 200:
/// LiveKit sends one event at a time per room and waits for our answer before the next (livekit-protocol.md §4).
/// </summary>
public sealed class RoomEventDispatcher(IEnumerable<IRoomEventHandler> handlers, ILogger<RoomEventDispatcher> logger)
    : BackgroundService
{
    /// <summary>Far above a healthy backlog; when handlers stall this long, polling will catch up anyway.</summary>
    public const int Capacity = 1024;

    private readonly Channel<WebhookEvent> _queue = Channel.CreateBounded<WebhookEvent>(
        new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    /// <returns>false when the queue is full and the event was dropped</returns>
    public bool TryEnqueue(WebhookEvent evt)
    {
        if (_queue.Writer.TryWrite(evt)) return true;
        logger.LogWarning("Room event queue is full ({Capacity}); dropped {Event} {EventId} for room {Room}; the next poll will see it",
            Capacity, evt.Event, evt.Id, evt.Room?.Name);
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var evt in _queue.Reader.ReadAllAsync(stoppingToken))
            foreach (var handler in handlers)
            {
                try { await handler.HandleAsync(evt, stoppingToken); }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
                catch (Exception e)
                {
                    logger.LogError(e, "{Handler} failed on {Event} {EventId}", handler.GetType().Name, evt.Event, evt.Id);
                }
            }
    }
}
