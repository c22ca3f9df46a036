using System.Diagnostics;

namespace RoomReconciler.Clock;

/// <summary>Spans of the clock API: one per snapshot or stream request, beside ASP.NET Core's request span.</summary>
public static class ClockTracing
{
    public static readonly ActivitySource Source = new("RoomReconciler.Clock");
}
