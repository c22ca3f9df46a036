namespace RoomReconciler.Reconciliation;

/// <summary>A change of a session's clock; stored as session_events.event_type (<see cref="EventNames"/>).</summary>
public enum ClockTransition { Started, Paused, Resumed, Ended }
