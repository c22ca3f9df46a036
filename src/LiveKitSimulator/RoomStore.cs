using System.Security.Cryptography;

namespace LiveKitSimulator;

/// <summary>
/// The rooms and participants of the simulated server, with the server's rules for counting (§2), duplicate
/// identities (§5), closing empty rooms (§2) and which webhook each change produces (§4). One lock guards
/// everything, and webhooks are queued under it, so their per-room order is the order of the changes.
/// </summary>
public sealed class RoomStore : IDisposable
{
    private const string SidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    private readonly Lock gate = new();
    private readonly Dictionary<string, RoomState> rooms = new(StringComparer.Ordinal);
    private readonly SimulatorOptions options;
    private readonly TimeProvider time;
    private readonly WebhookSender webhooks;
    private TimeSpan refresh;

    internal RoomStore(SimulatorOptions options, TimeProvider time, WebhookSender webhooks)
    {
        this.options = options;
        this.time = time;
        this.webhooks = webhooks;
        refresh = options.NumParticipantsRefresh;
    }

    /// <summary>
    /// How often the cached room snapshot behind ListRooms and webhook rooms is refreshed (the server's
    /// roomUpdateInterval is 5 s). Zero means num_participants is always exact.
    /// </summary>
    public TimeSpan NumParticipantsRefresh
    {
        get { lock (gate) return refresh; }
        set
        {
            lock (gate)
            {
                refresh = value < TimeSpan.Zero ? TimeSpan.Zero : value;
                foreach (var room in rooms.Values) Refresh(room, time.GetUtcNow());
            }
        }
    }

    /// <summary>Creates a room (room_started), or returns the existing one, as CreateRoom does.</summary>
    public Room Create(string name, TimeSpan? emptyTimeout = null, TimeSpan? departureTimeout = null, uint maxParticipants = 0, string metadata = "")
    {
        RequireName(name, "room");
        lock (gate)
        {
            var room = rooms.TryGetValue(name, out var existing)
                ? existing
                : Open(name, emptyTimeout, departureTimeout, maxParticipants, metadata);
            return Snapshot(room);
        }
    }

    public Participant Join(string room, string identity, ParticipantKind kind = ParticipantKind.Standard, bool hidden = false, bool active = true) =>
        Join(room, identity, new JoinOptions { Kind = kind, Hidden = hidden, Active = active });

    /// <summary>
    /// A participant joins, creating the room on first join. A same-identity join replaces the old participant
    /// first (DUPLICATE_IDENTITY, §5), and the newcomer always gets a new sid.
    /// </summary>
    public Participant Join(string room, string identity, JoinOptions join)
    {
        RequireName(room, "room");
        RequireName(identity, "identity");
        lock (gate)
        {
            var state = rooms.TryGetValue(room, out var existing) ? Live(existing) : Open(room, null, null, 0, "");
            var participant = new Participant(
                NewSid("PA_"), identity, join.Name ?? "", join.Kind, ParticipantState.Joining, join.Hidden,
                time.GetUtcNow(), join.Metadata, join.IsPublisher)
            {
                Attributes = join.Attributes ?? new Dictionary<string, string>(),
                LegacyAgent = join.LegacyAgent,
                LegacyRecorder = join.LegacyRecorder,
            };
            if (state.Participants.TryGetValue(identity, out var old))
                Depart(state, old, DisconnectReason.DuplicateIdentity);
            else if (!participant.IsDependent && state.MaxParticipants > 0 && CountedIn(state) >= state.MaxParticipants)
                throw new BadInputException($"room '{room}' is full (max_participants {state.MaxParticipants})");

            state.Participants[identity] = participant;
            if (!participant.IsDependent) state.EverJoined = true;
            Changed(state);
            if (join.Active) return MakeActive(state, participant);
            // A participant that never gets to ACTIVE is removed (pkg/rtc/room.go, participant.go: about 60 s).
            Arm(state, participant, options.JoinTimeout, p => p.State != ParticipantState.Active, DisconnectReason.JoinFailure);
            return participant;
        }
    }

    /// <summary>The participant's ICE connects: state ACTIVE and participant_joined, once.</summary>
    public Participant Activate(string room, string identity) => SetState(room, identity, ParticipantState.Active);

    /// <summary>Moves a participant through JOINING/JOINED/ACTIVE; DISCONNECTED is a client-initiated leave.</summary>
    public Participant SetState(string room, string identity, ParticipantState newState)
    {
        lock (gate)
        {
            var (state, participant) = Find(room, identity);
            return newState switch
            {
                ParticipantState.Active => MakeActive(state, participant),
                ParticipantState.Disconnected => Depart(state, participant, DisconnectReason.ClientInitiated),
                _ => state.Participants[identity] = participant with { State = newState, Version = participant.Version + 1 },
            };
        }
    }

    /// <summary>The participant leaves; returns it as it left (DISCONNECTED), or null when it was not there.</summary>
    public Participant? Leave(string room, string identity, DisconnectReason reason = DisconnectReason.ClientInitiated)
    {
        lock (gate)
        {
            return rooms.TryGetValue(room, out var state) && Live(state).Participants.TryGetValue(identity, out var participant)
                ? Depart(state, participant, reason)
                : null;
        }
    }

    /// <summary>
    /// The participant's network vanishes without a leave: it stays ACTIVE for <see cref="SimulatorOptions.UncleanDisconnectTimeout"/>
    /// (ICE disconnected, failed, then the removal timer, §8), then leaves with CONNECTION_TIMEOUT; participant_left is sent then.
    /// </summary>
    public Participant LoseNetwork(string room, string identity)
    {
        lock (gate)
        {
            var (state, participant) = Find(room, identity);
            Arm(state, participant, options.UncleanDisconnectTimeout, _ => true, DisconnectReason.ConnectionTimeout);
            return participant;
        }
    }

    /// <summary>
    /// The node hosting every current room dies (§8): the rooms stay listed with their participants as they were,
    /// ACTIVE ones included, with no TTL; no timer fires and no webhook is ever sent for them. Only DeleteRoom removes them.
    /// </summary>
    public void FailNode()
    {
        lock (gate)
        {
            foreach (var state in rooms.Values)
            {
                state.Orphaned = true;
                StopTimers(state);
            }
        }
    }

    /// <summary>Whether the room was left behind by a node that died (<see cref="FailNode"/>).</summary>
    public bool IsOrphaned(string room)
    {
        lock (gate) return rooms.TryGetValue(room, out var state) && state.Orphaned;
    }

    /// <summary>DeleteRoom: everyone leaves with ROOM_DELETED, then room_finished. False when there is no such room.</summary>
    public bool Delete(string room)
    {
        lock (gate)
        {
            if (!rooms.TryGetValue(room, out var state)) return false;
            // A dead node's room is only deleted from the store: no node is left to tell anyone.
            if (state.Orphaned) rooms.Remove(room);
            else Close(state, DisconnectReason.RoomDeleted);
            return true;
        }
    }

    /// <summary>Rooms as ListRooms shows them (num_participants possibly stale); no names means all.</summary>
    public IReadOnlyList<Room> List(IReadOnlyCollection<string>? names = null)
    {
        lock (gate)
        {
            return rooms.Values
                .Where(r => names is null || names.Count == 0 || names.Contains(r.Name))
                .OrderBy(r => r.CreatedAt)
                .Select(Snapshot)
                .ToList();
        }
    }

    public Room? Get(string room)
    {
        lock (gate) return rooms.TryGetValue(room, out var state) ? Snapshot(state) : null;
    }

    /// <summary>Every participant, hidden, dependent and JOINING ones included, as ListParticipants returns them.</summary>
    public IReadOnlyList<Participant>? Participants(string room)
    {
        lock (gate) return rooms.TryGetValue(room, out var state) ? state.Participants.Values.OrderBy(p => p.JoinedAt).ToList() : null;
    }

    public Participant? Participant(string room, string identity)
    {
        lock (gate) return rooms.TryGetValue(room, out var state) ? state.Participants.GetValueOrDefault(identity) : null;
    }

    /// <summary>Forgets every room without sending webhooks, so one simulator can serve several tests.</summary>
    public void Clear()
    {
        lock (gate)
        {
            foreach (var state in rooms.Values) StopTimers(state);
            rooms.Clear();
        }
    }

    public void Dispose() => Clear();

    private RoomState Open(string name, TimeSpan? emptyTimeout, TimeSpan? departureTimeout, uint maxParticipants, string metadata)
    {
        var now = time.GetUtcNow();
        var state = new RoomState(NewSid("RM_"), name, now)
        {
            EmptyTimeout = emptyTimeout is { } e && e > TimeSpan.Zero ? e : options.EmptyTimeout,
            DepartureTimeout = departureTimeout is { } d && d > TimeSpan.Zero ? d : options.DepartureTimeout,
            MaxParticipants = maxParticipants,
            Metadata = metadata,
            LastRefresh = now,
        };
        rooms[name] = state;
        Notify(state, "room_started", null);
        ArmCloseIfEmpty(state);
        return state;
    }

    private Participant MakeActive(RoomState state, Participant participant)
    {
        if (participant.State == ParticipantState.Active) return participant;
        var active = participant with { State = ParticipantState.Active, WasActive = true, Version = participant.Version + 1 };
        state.Participants[participant.Identity] = active;
        Notify(state, "participant_joined", active);
        return active;
    }

    /// <summary>Removes the participant after <paramref name="delay"/> with <paramref name="reason"/>, if it is still there (same sid) and <paramref name="still"/> holds.</summary>
    private void Arm(RoomState state, Participant participant, TimeSpan delay, Func<Participant, bool> still, DisconnectReason reason)
    {
        var sid = participant.Sid;
        if (state.Timers.Remove(sid, out var previous)) previous.Dispose();
        state.Timers[sid] = time.CreateTimer(_ =>
        {
            lock (gate)
            {
                if (rooms.GetValueOrDefault(state.Name) != state || state.Orphaned) return;
                if (state.Participants.GetValueOrDefault(participant.Identity) is { } current && current.Sid == sid && still(current))
                    Depart(state, current, reason);
            }
        }, null, delay, Timeout.InfiniteTimeSpan);
    }

    private static void StopTimers(RoomState state)
    {
        state.CloseTimer?.Dispose();
        state.CloseTimer = null;
        foreach (var timer in state.Timers.Values) timer.Dispose();
        state.Timers.Clear();
    }

    /// <summary>A room that a live node hosts; a dead node's room takes no joins or leaves.</summary>
    private static RoomState Live(RoomState state) =>
        state.Orphaned ? throw new BadInputException($"room '{state.Name}' was hosted by a node that died; only DeleteRoom removes it") : state;

    private Participant Depart(RoomState state, Participant participant, DisconnectReason reason)
    {
        if (state.Timers.Remove(participant.Sid, out var timer)) timer.Dispose();
        state.Participants.Remove(participant.Identity);
        var gone = participant with { State = ParticipantState.Disconnected, DisconnectReason = reason, Version = participant.Version + 1 };
        Changed(state);
        Notify(state, gone.WasActive ? "participant_left" : "participant_connection_aborted", gone);
        return gone;
    }

    private void Close(RoomState state, DisconnectReason reason)
    {
        foreach (var participant in state.Participants.Values.ToList()) Depart(state, participant, reason);
        StopTimers(state);
        Notify(state, "room_finished", null);
        rooms.Remove(state.Name);
    }

    private void Changed(RoomState state)
    {
        var now = time.GetUtcNow();
        state.UpdatedAt = now;
        // Like the server's ProtoProxy: a change only marks the cached snapshot dirty; it is rebuilt at most once per interval.
        state.DirtySince ??= now;
        ArmCloseIfEmpty(state);
    }

    private void ArmCloseIfEmpty(RoomState state)
    {
        if (state.Participants.Values.Any(p => !p.IsDependent))
        {
            state.CloseTimer?.Dispose();
            state.CloseTimer = null;
            return;
        }
        if (state.CloseTimer is not null) return;
        var delay = state.EverJoined ? state.DepartureTimeout : state.EmptyTimeout;
        state.CloseTimer = time.CreateTimer(_ => CloseIfStillEmpty(state), null, delay, Timeout.InfiniteTimeSpan);
    }

    private void CloseIfStillEmpty(RoomState state)
    {
        lock (gate)
        {
            if (rooms.GetValueOrDefault(state.Name) == state && state.Participants.Values.All(p => p.IsDependent))
                Close(state, DisconnectReason.RoomClosed);
        }
    }

    private Room Snapshot(RoomState state)
    {
        var now = time.GetUtcNow();
        if (refresh == TimeSpan.Zero || (state.DirtySince is not null && now >= state.LastRefresh + refresh)) Refresh(state, now);
        return new Room(state.Sid, state.Name, state.EmptyTimeout, state.DepartureTimeout, state.MaxParticipants,
            state.CreatedAt, state.Metadata, state.CachedCount, state.CachedPublishers, state.UpdatedAt);
    }

    private static void Refresh(RoomState state, DateTimeOffset now)
    {
        state.CachedCount = CountedIn(state);
        state.CachedPublishers = (uint)state.Participants.Values.Count(p => p.IsPublisher);
        state.LastRefresh = now;
        state.DirtySince = null;
    }

    /// <summary>
    /// §2: every non-dependent participant counts, hidden, SIP, ingress, connector, bridge and JOINING ones included
    /// (pkg/rtc/room.go updateProto counts !IsDependent(), with no state or hidden check).
    /// </summary>
    private static uint CountedIn(RoomState state) => (uint)state.Participants.Values.Count(p => !p.IsDependent);

    private void Notify(RoomState state, string name, Participant? participant) =>
        webhooks.Enqueue(name, Snapshot(state), participant);

    private (RoomState, Participant) Find(string room, string identity) =>
        rooms.TryGetValue(room, out var state) && Live(state).Participants.TryGetValue(identity, out var participant)
            ? (state, participant)
            : throw new KeyNotFoundException($"no participant '{identity}' in room '{room}'");

    private static void RequireName(string value, string what)
    {
        if (string.IsNullOrEmpty(value)) throw new BadInputException($"'{what}' is required");
    }

    internal static string NewSid(string prefix) => prefix + RandomNumberGenerator.GetString(SidAlphabet, 12);

    private sealed class RoomState(string sid, string name, DateTimeOffset createdAt)
    {
        public string Sid { get; } = sid;
        public string Name { get; } = name;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public DateTimeOffset UpdatedAt { get; set; } = createdAt;
        public TimeSpan EmptyTimeout { get; init; }
        public TimeSpan DepartureTimeout { get; init; }
        public uint MaxParticipants { get; init; }
        public string Metadata { get; init; } = "";
        public Dictionary<string, Participant> Participants { get; } = new(StringComparer.Ordinal);
        public bool EverJoined { get; set; }
        public ITimer? CloseTimer { get; set; }
        /// <summary>Pending removals (join timeout, unclean disconnect) by participant sid.</summary>
        public Dictionary<string, ITimer> Timers { get; } = new(StringComparer.Ordinal);
        public bool Orphaned { get; set; }
        public uint CachedCount { get; set; }
        public uint CachedPublishers { get; set; }
        public DateTimeOffset LastRefresh { get; set; }
        public DateTimeOffset? DirtySince { get; set; }
    }
}
