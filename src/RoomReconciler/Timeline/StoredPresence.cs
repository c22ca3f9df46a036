using RoomReconciler.Reconciliation;

namespace RoomReconciler.Timeline;

/// <summary>The session_presence row; times are Unix milliseconds (<see cref="Clock.ClockTime"/>).</summary>
public sealed record StoredPresence(IReadOnlyList<string> Participants, long? BelowSince, long ObservedAt, ClockSource Source);
