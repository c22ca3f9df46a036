namespace RoomReconciler.LiveKit;

/// <summary>
/// What a RoomService call is for, most valuable first: a short budget makes the last ones wait, never the first
/// (<see cref="RequestBudget"/>).
/// </summary>
public enum RequestPriority
{
    /// <summary>A grace whose deadline is due: the pause is to be written at its moment.</summary>
    GraceDeadline,
    /// <summary>A room a webhook just named.</summary>
    Webhook,
    /// <summary>The poll's ListRooms and the rooms whose listing changed; also the startup checks.</summary>
    Listing,
    /// <summary>The verification sweep of rooms whose listing did not change, with what is left.</summary>
    Verification,
    /// <summary>Already taken from the budget by the caller, in a batch (<see cref="RequestBudget.TakeUpToAsync"/>).</summary>
    Prepaid,
}
