using RoomReconciler.Hosting;

namespace RoomReconciler.Demo;

public sealed class DemoOptions : IKeyedOptions
{
    public static string Section => "Demo";

    /// <summary>Serve GET /demo/{id}. Off by default: production configuration must not serve it.</summary>
    public bool Enabled { get; set; }

    public IEnumerable<string> Validate() => [];
}
