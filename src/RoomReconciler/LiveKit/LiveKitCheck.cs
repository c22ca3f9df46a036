using Microsoft.Extensions.Options;
using RoomReconciler.Hosting;

namespace RoomReconciler.LiveKit;

/// <summary>`check`: LiveKit reachable at LiveKit:Url, and our key and secret accepted (one ListRooms).</summary>
public sealed class LiveKitCheck(RoomServiceClient client, IOptions<LiveKitOptions> options) : IStartupCheck
{
    public string Name => "LiveKit RoomService";

    public async Task<StartupCheckResult> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await client.ListRooms(null, cancellationToken);
            return StartupCheckResult.Passed();
        }
        catch (LiveKitException e)
        {
            var hint = e.Kind is LiveKitErrorKind.Unauthenticated or LiveKitErrorKind.PermissionDenied
                ? "; check LiveKit:ApiKey and LiveKit:ApiSecret"
                : e.Kind is LiveKitErrorKind.Transport or LiveKitErrorKind.Timeout or LiveKitErrorKind.BadRoute
                    ? "; check LiveKit:Url"
                    : "";
            return StartupCheckResult.Failed($"cannot list rooms at {options.Value.HttpBaseUri}: {e.Message}{hint}");
        }
    }
}
