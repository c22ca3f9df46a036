using System.Diagnostics;

namespace RoomReconciler.Reconciliation;

/// <summary>Spans of the reconciler: one per poll tick, one per room reconciled on its own (webhook, grace deadline).</summary>
public static class ReconcileTracing
{
    public static readonly ActivitySource Source = new("RoomReconciler.Reconciliation");
}
