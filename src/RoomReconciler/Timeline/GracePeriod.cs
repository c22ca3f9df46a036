using System.ComponentModel;
using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

/// <summary>
/// A time when too few participants were there but the clock still ran: from the drop to the pause
/// (<c>outcome</c> "paused"), or a grace still counting down now ("pending"; <c>to</c> is when it will pause).
/// </summary>
public sealed record GracePeriod(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("ms")] long Ms,
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("present"), Description("the counted identities that stayed")] IReadOnlyList<string> Present);
