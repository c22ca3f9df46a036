using Microsoft.Extensions.Options;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// Turns an accepted webhook about one of our rooms into an immediate reconcile of that room. Only the
/// timing comes from the event; what to do is decided from a fresh ListParticipants, as on a poll.
/// </summary>
public sealed class WebhookReconcileHandler(RoomQueue queue, IOptionsMonitor<ReconcilerOptions> options) : IRoomEventHandler
{
    public ValueTask HandleAsync(WebhookEvent evt, CancellationToken ct)
    {
        var emptied = evt.Event is WebhookEventNames.ParticipantLeft or WebhookEventNames.ParticipantConnectionAborted
            or WebhookEventNames.RoomFinished;
        if ((emptied || evt.Event == WebhookEventNames.ParticipantJoined)
            && options.CurrentValue.Rooms().SessionOf(evt.Room?.Name) is { } sessionId)
        {
            // createdAt is whole seconds, so the drop happened before createdAt + 1 s; the decision also caps it at now,
            // which is within milliseconds of the drop when the webhook came straight away.
            DateTimeOffset? dropHint = emptied && evt.CreatedAt > 0 ? DateTimeOffset.FromUnixTimeSeconds(evt.CreatedAt + 1) : null;
            // participant_joined is sent when the participant became ACTIVE (docs/livekit.md §8): a better start or
            // resume moment than joined_at, which a long JOINING may be far past.
            var activeHint = evt.Event == WebhookEventNames.ParticipantJoined && evt.CreatedAt > 0 && evt.Participant?.Identity is { Length: > 0 } identity
                ? new ActiveHint(identity, DateTimeOffset.FromUnixTimeSeconds(evt.CreatedAt))
                : null;
            queue.Enqueue(new RoomRequest(sessionId, ClockSource.Webhook, dropHint, activeHint));
        }
        return ValueTask.CompletedTask;
    }
}
