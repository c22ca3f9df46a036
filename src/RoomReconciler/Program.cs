return await RoomReconciler.Hosting.Cli.RunAsync(args);

namespace RoomReconciler
{
    /// <summary>The entry point, named so that tests can locate this assembly.</summary>
    public partial class Program;
}
