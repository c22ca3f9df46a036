using System.Text.Json;
using RoomReconciler.Reconciliation;

namespace RoomReconciler.Timeline;

/// <summary>One row of session_events; times are Unix milliseconds (<see cref="Clock.ClockTime"/>).</summary>
public sealed record StoredEvent(
    long Id, ClockTransition Type, string? Reason, long EffectiveAt, long CreatedAt, ClockSource Source, JsonElement Details)
{
    /// <summary>The counted identities the reconciler saw when it decided (details.participants); null when not recorded (API calls).</summary>
    public IReadOnlyList<string>? Participants =>
        Details.ValueKind == JsonValueKind.Object && Details.TryGetProperty("participants", out var p) && p.ValueKind == JsonValueKind.Array
            ? p.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
            : null;
}
