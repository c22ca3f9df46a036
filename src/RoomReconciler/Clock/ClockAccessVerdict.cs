namespace RoomReconciler.Clock;

public enum ClockAccessVerdict { Allowed, Unauthenticated, Forbidden }
