namespace RoomReconciler.Reconciliation;

/// <summary>A session's clock and presence as stored, read in one query with the database's now.</summary>
public sealed record StoredSession(
    Guid Id,
    DateTimeOffset? StartedAt,
    bool IsPaused,
    DateTimeOffset? LastStateChangeAt,
    IReadOnlyList<string> Participants,
    DateTimeOffset? BelowSince,
    DateTimeOffset? ObservedAt,
    TimeSpan TotalPaused = default);
