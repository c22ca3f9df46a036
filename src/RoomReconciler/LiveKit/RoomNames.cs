namespace RoomReconciler.LiveKit;

/// <summary>
/// The LiveKit room of a session and back: <c>Reconciler:RoomNamePrefix</c> + the session id in lower-case canonical
/// form. One spelling per session, so a join token's room and a webhook's room compare as plain strings.
/// </summary>
public sealed record RoomNames(string Prefix)
{
    public string For(Guid sessionId) => Prefix + sessionId.ToString("D");

    /// <summary>The session of a room named by <see cref="For"/>; null for rooms that are not ours.</summary>
    public Guid? SessionOf(string? room) =>
        room is not null && room.StartsWith(Prefix, StringComparison.Ordinal)
        && Guid.TryParseExact(room.AsSpan(Prefix.Length), "D", out var id) && room[Prefix.Length..] == id.ToString("D")
            ? id : null;
}
