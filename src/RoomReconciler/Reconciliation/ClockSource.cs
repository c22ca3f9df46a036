namespace RoomReconciler.Reconciliation;

/// <summary>What made a transition happen; stored as session_events.source (<see cref="EventNames"/>).</summary>
public enum ClockSource
{
    /// <summary>The poll tick, or a recheck a poll scheduled.</summary>
    Poll,
    /// <summary>A LiveKit webhook, or a recheck its reconcile scheduled.</summary>
    Webhook,
    /// <summary>The application, through session_clock_pause/resume/start/end.</summary>
    Api,
}
