namespace RoomReconciler.Clock;

/// <summary>The database could not be asked (down, unreachable, timing out): the answer is 503, not a guess.</summary>
public sealed class ClockUnavailableException(Exception inner) : Exception("the clock database is unavailable: " + inner.Message, inner);
