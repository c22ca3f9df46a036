namespace RoomReconciler.Events;

/// <summary>What one attempt's answer means for its delivery.</summary>
public enum DeliveryOutcome
{
    /// <summary>A 2xx: acknowledged.</summary>
    Acknowledged,
    /// <summary>A 410 Gone: the receiver asks for no more; the endpoint is disabled.</summary>
    Gone,
    /// <summary>Any other status, a timeout or no connection: retried on the schedule, dead after its last delay.</summary>
    Failed,
}
