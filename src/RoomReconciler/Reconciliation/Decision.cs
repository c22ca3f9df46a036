namespace RoomReconciler.Reconciliation;

/// <param name="Actions">clock transitions in the order they took effect (a pause and a resume can both be due)</param>
/// <param name="Presence">the presence to store, or null when it is unchanged</param>
/// <param name="RecheckAt">when a running grace ends and the room must be looked at again, if one is running</param>
public sealed record Decision(IReadOnlyList<ClockAction> Actions, Presence? Presence, DateTimeOffset? RecheckAt)
{
    public static readonly Decision Nothing = new([], null, null);
}
