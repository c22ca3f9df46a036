namespace RoomReconciler.Clock;

/// <summary>Which limit refused a stream (the <c>limit</c> label of <c>roomreconciler_clock_streams_refused_total</c>).</summary>
public enum ClockStreamLimit { Token, Global }
