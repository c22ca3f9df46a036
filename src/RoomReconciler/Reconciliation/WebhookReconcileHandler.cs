using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

/// <summary>
/// Turns an accepted webhook about one of our rooms into a <see cref="RoomRequest"/> of that room. A departure is
/// decided from the webhook and the stored participants, without a LiveKit call: the webhook is LiveKit's own word that
/// the identity left, and a grace that starts is looked at again (with a call) at its deadline before anything pauses.
/// A join needs a look: the stored participants may be out of date, and a resume must not rest on them.
/// </summary>
public sealed class WebhookReconcileHandler(RoomQueue queue, IOptionsMonitor<ReconcilerOptions> options) : IRoomEventHandler
{
    public ValueTask HandleAsync(WebhookEvent evt, CancellationToken ct)
    {
        var left = evt.Event is WebhookEventNames.ParticipantLeft or WebhookEventNames.ParticipantConnectionAborted;
        var closed = evt.Event == WebhookEventNames.RoomFinished;
        if ((left || closed || evt.Event == WebhookEventNames.ParticipantJoined)
            && options.CurrentValue.Rooms().SessionOf(evt.Room?.Name) is { } sessionId)
        {
            var identity = evt.Participant?.Identity is { Length: > 0 } id ? id : null;
            // createdAt is whole seconds, so the drop happened before createdAt + 1 s; the decision also caps it at now,
            // which is within milliseconds of the drop when the webhook came straight away.
            DateTimeOffset? dropHint = (left || closed) && evt.CreatedAt > 0 ? DateTimeOffset.FromUnixTimeSeconds(evt.CreatedAt + 1) : null;
            // participant_joined is sent when the participant became ACTIVE (docs/livekit.md §8): a better start or
            // resume moment than joined_at, which a long JOINING may be far past.
            var activeHint = evt.Event == WebhookEventNames.ParticipantJoined && evt.CreatedAt > 0 && identity is not null
                ? new ActiveHint(identity, DateTimeOffset.FromUnixTimeSeconds(evt.CreatedAt))
                : null;
            // A departure without an identity says too little to decide on: look.
            var departed = left && identity is not null ? ImmutableHashSet.Create(StringComparer.Ordinal, identity) : null;
            queue.Enqueue(new RoomRequest(sessionId, ClockSource.Webhook, RequestPriority.Webhook, dropHint, activeHint, departed, closed,
                Look: departed is null && !closed));
        }
        return ValueTask.CompletedTask;
    }
}
