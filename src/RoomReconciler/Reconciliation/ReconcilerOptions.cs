using RoomReconciler.Hosting;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Reconciliation;

public sealed class ReconcilerOptions : IKeyedOptions
{
    public static string Section => "Reconciler";

    /// <summary>How often every room is reconciled.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a session may lack participants before its clock pauses.</summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Counted participants needed for the clock to run.</summary>
    public int MinParticipants { get; set; } = 2;

    /// <summary>Room name = prefix + session id (lower-case canonical UUID).</summary>
    public string RoomNamePrefix { get; set; } = "";

    /// <summary>Start a session's clock when its participants are first all present.</summary>
    public bool AutoStart { get; set; } = true;

    /// <summary>
    /// A clock whose elapsed time reaches this ends there (reason max_duration): a LiveKit node that died leaves its
    /// participants listed forever, and an unreadable LiveKit pauses nothing. Zero turns the cap off.
    /// </summary>
    public TimeSpan MaxSessionDuration { get; set; } = TimeSpan.FromHours(4);

    /// <summary>LiveKit participant kinds that keep a clock running (STANDARD by default; agents and egress never should).</summary>
    public string[] CountedKinds { get; set; } = ["STANDARD"];

    public IReadOnlySet<ParticipantCategory> CountedCategories() =>
        CountedKinds.Select(k => Enum.Parse<ParticipantCategory>(k, ignoreCase: true)).ToHashSet();

    public IEnumerable<string> Validate()
    {
        foreach (var kind in CountedKinds.Where(k => !Enum.TryParse<ParticipantCategory>(k, ignoreCase: true, out _) || k.Equals("Other", StringComparison.OrdinalIgnoreCase)))
            yield return $"Reconciler:CountedKinds has an unknown participant kind '{kind}' (STANDARD, INGRESS, EGRESS, SIP, AGENT, CONNECTOR, BRIDGE)";
        if (CountedKinds.Length == 0) yield return "Reconciler:CountedKinds must name at least one participant kind";
        foreach (var p in KeyedOptionsExtensions.Positive(PollInterval, "Reconciler:PollInterval")) yield return p;
        if (GracePeriod < TimeSpan.Zero)
            yield return $"Reconciler:GracePeriod must not be negative (got {GracePeriod})";
        if (MaxSessionDuration < TimeSpan.Zero)
            yield return $"Reconciler:MaxSessionDuration must not be negative; 00:00:00 turns the cap off (got {MaxSessionDuration})";
        if (MinParticipants < 1)
            yield return $"Reconciler:MinParticipants must be at least 1 (got {MinParticipants})";
        if (RoomNamePrefix.Length > 200)
            yield return "Reconciler:RoomNamePrefix is longer than 200 characters";
    }

    /// <summary>Room names of sessions, both ways. A method, not a property, so that it is no configuration key.</summary>
    public RoomNames Rooms() => new(RoomNamePrefix);
}
