namespace RoomReconciler.Clock;

/// <summary>A clock entry and the database time to show it at.</summary>
public readonly record struct ClockAnswer(ClockEntry Entry, long DatabaseNow);
