using System.Text.Json.Serialization;

namespace RoomReconciler.Timeline;

[JsonSerializable(typeof(SessionTimeline))]
internal sealed partial class TimelineJsonContext : JsonSerializerContext;
