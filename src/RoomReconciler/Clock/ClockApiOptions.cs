using RoomReconciler.Hosting;

namespace RoomReconciler.Clock;

public sealed class ClockApiOptions : IKeyedOptions
{
    public static string Section => "ClockApi";

    /// <summary>/clock needs a LiveKit join token for the session's room.</summary>
    public bool RequireToken { get; set; } = true;

    /// <summary>How often an idle clock stream sends a comment, so that proxies and clients see it alive.</summary>
    public TimeSpan StreamHeartbeat { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<string> Validate() => KeyedOptionsExtensions.Positive(StreamHeartbeat, "ClockApi:StreamHeartbeat");
}
