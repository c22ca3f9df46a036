using RoomReconciler.Hosting;

namespace RoomReconciler.Clock;

public sealed class ClockApiOptions : IKeyedOptions
{
    public static string Section => "ClockApi";

    /// <summary>/clock needs a LiveKit join token for the session's room.</summary>
    public bool RequireToken { get; set; } = true;

    public IEnumerable<string> Validate() => [];
}
