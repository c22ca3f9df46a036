namespace RoomReconciler.Reconciliation;

/// <summary>
/// Kinds from docs/livekit.md §2; Other for anything newer than this code. A participant holding the legacy
/// video.agent or video.recorder grant is observed as Agent or Egress, as LiveKit itself treats it (§2, IsDependent).
/// </summary>
public enum ParticipantCategory { Standard, Ingress, Egress, Sip, Agent, Connector, Bridge, Other }
