namespace RoomReconciler.Reconciliation;

/// <summary>
/// What LiveKit said about a room, one of two cases: <see cref="Known"/>, who is in it (nobody for an empty or absent
/// room), or <see cref="Unknown"/>, nothing readable (the call failed). Two types rather than a null list, so that
/// no reader can take unknown for zero.
/// </summary>
public abstract record RoomObservation
{
    private RoomObservation() { }

    /// <summary>LiveKit could not be read: unknown is not zero, so nothing may change.</summary>
    public static readonly RoomObservation Unknown = new Unreadable();

    /// <summary>LiveKit lists no such room: it is empty (LiveKit closes empty rooms after departure_timeout).</summary>
    public static readonly RoomObservation Absent = new Known([]);

    /// <summary>The room's participants, as LiveKit listed them or as the stored participants stand in for them.</summary>
    public sealed record Known(IReadOnlyList<ObservedParticipant> Participants) : RoomObservation;

    private sealed record Unreadable : RoomObservation;
}

/// <summary>One participant as LiveKit lists it, reduced to what the clock cares about.</summary>
/// <param name="Active">ACTIVE (media connected): JOINING and JOINED have not joined yet, and may never (docs/livekit.md §8)</param>
/// <param name="JoinedAt">when it became present: LiveKit's joined_at, or participant_joined's createdAt where a webhook gave it</param>
public sealed record ObservedParticipant(string Identity, ParticipantCategory Category, bool Hidden, bool Active, DateTimeOffset? JoinedAt);

/// <summary>
/// Kinds from docs/livekit.md §2; Other for anything newer than this code. A participant holding the legacy
/// video.agent or video.recorder grant is observed as Agent or Egress, as LiveKit itself treats it (§2, IsDependent).
/// </summary>
public enum ParticipantCategory { Standard, Ingress, Egress, Sip, Agent, Connector, Bridge, Other }

/// <summary>A room as ListRooms lists it: enough to tell whether it changed since the last look.</summary>
public sealed record ListedRoom(string Name, string Sid, int NumParticipants);
