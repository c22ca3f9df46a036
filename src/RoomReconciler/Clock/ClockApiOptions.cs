using RoomReconciler.Hosting;

namespace RoomReconciler.Clock;

public sealed class ClockApiOptions : IKeyedOptions
{
    public static string Section => "ClockApi";

    /// <summary>/clock needs a LiveKit join token for the session's room.</summary>
    public bool RequireToken { get; set; } = true;

    /// <summary>How often an idle clock stream sends a comment, so that proxies and clients see it alive.</summary>
    public TimeSpan StreamHeartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Open streams one join token may hold (README.md, "Stream limits"): a page per participant, and a few reloads.</summary>
    public int MaxStreamsPerToken { get; set; } = 4;

    /// <summary>
    /// Open streams in all. Unset: sized from the memory the process may use and what a stream takes
    /// (<see cref="ClockStreamLimits.DefaultMaxStreams"/>; README.md, "Stream limits").
    /// </summary>
    public int? MaxStreams { get; set; }

    public IEnumerable<string> Validate()
    {
        foreach (var p in KeyedOptionsExtensions.Positive(StreamHeartbeat, "ClockApi:StreamHeartbeat")) yield return p;
        if (MaxStreamsPerToken < 1)
            yield return $"ClockApi:MaxStreamsPerToken must be at least 1 (got {MaxStreamsPerToken})";
        if (MaxStreams is < 1)
            yield return $"ClockApi:MaxStreams must be at least 1 (got {MaxStreams})";
    }
}
