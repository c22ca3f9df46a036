namespace RoomReconciler.Reconciliation;

/// <summary>What session_reconcile_apply did with one action of a decision (its outcome column).</summary>
public enum ApplyOutcome
{
    /// <summary>The clock changed and an event was logged.</summary>
    Changed,
    /// <summary>The clock already was so (a pause of a paused clock): nothing written.</summary>
    Unchanged,
    /// <summary>The session or its presence changed since it was read: nothing of the decision was written.</summary>
    Stale,
    /// <summary>The transition is not allowed (the session ended, is not tracked, ...): the error column says why.</summary>
    Rejected,
}
