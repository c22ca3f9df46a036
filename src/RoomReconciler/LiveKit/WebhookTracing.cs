using System.Diagnostics;

namespace RoomReconciler.LiveKit;

/// <summary>Spans of the LiveKit webhook receiver: one per webhook, beside ASP.NET Core's request span.</summary>
public static class WebhookTracing
{
    public static readonly ActivitySource Source = new("RoomReconciler.LiveKit");
}
