namespace RoomReconciler.Reconciliation;

/// <summary>One participant as LiveKit lists it, reduced to what the clock cares about.</summary>
/// <param name="Active">ACTIVE (media connected): JOINING and JOINED have not joined yet, and may never (docs/livekit.md §8)</param>
/// <param name="JoinedAt">when it became present: LiveKit's joined_at, or participant_joined's createdAt where a webhook gave it</param>
public sealed record ObservedParticipant(string Identity, ParticipantCategory Category, bool Hidden, bool Active, DateTimeOffset? JoinedAt);
