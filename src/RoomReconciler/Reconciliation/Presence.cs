namespace RoomReconciler.Reconciliation;

/// <summary>The presence to store: counted identities and when they fell below the minimum (null while enough).</summary>
public sealed record Presence(IReadOnlyList<string> Participants, DateTimeOffset? BelowSince);
