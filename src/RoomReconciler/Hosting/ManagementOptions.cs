namespace RoomReconciler.Hosting;

/// <summary>
/// The Management section: where /metrics, /healthz and /readyz are served. By default on the public port; with
/// Management:Port they move to that port alone, so that the public listener (behind an ingress) does not expose
/// them and probes and scrapes keep working when the public port is saturated.
/// </summary>
public sealed class ManagementOptions : IKeyedOptions
{
    public static string Section => "Management";

    /// <summary>0 (default): serve them on the public port; else the TCP port, on all interfaces.</summary>
    public int Port { get; set; }

    public IEnumerable<string> Validate() =>
        Port is >= 0 and <= 65535 ? [] : [$"Management:Port must be a TCP port 1-65535, or 0 for the public port (got {Port})"];
}
