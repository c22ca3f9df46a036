namespace RoomReconciler.LiveKit;

/// <summary>
/// Why a RoomService call failed. The first eighteen are Twirp's error codes (docs/livekit.md §1), sent by
/// the server or, for an error body that is not Twirp JSON, derived from the HTTP status as Twirp clients do
/// (so a plain-text 401 is <see cref="Unauthenticated"/>). The last three happen on our side of the wire.
/// </summary>
public enum LiveKitErrorKind
{
    Canceled, Unknown, InvalidArgument, Malformed, DeadlineExceeded, NotFound, BadRoute, AlreadyExists,
    PermissionDenied, Unauthenticated, ResourceExhausted, FailedPrecondition, Aborted, OutOfRange,
    Unimplemented, Internal, Unavailable, DataLoss,

    /// <summary>No answer within the time budget (per attempt or in total, retries included).</summary>
    Timeout,
    /// <summary>A 2xx answer whose body is not the expected JSON.</summary>
    MalformedResponse,
    /// <summary>No HTTP answer: connection refused or reset, DNS, TLS, or the circuit breaker is open.</summary>
    Transport,
}

/// <summary>
/// The one exception a <see cref="RoomServiceClient"/> call throws, besides OperationCanceledException for the
/// caller's own cancellation. Whatever the kind, the room's state is unknown, not empty.
/// </summary>
public sealed class LiveKitException(
    LiveKitErrorKind kind, string message, int? httpStatus = null, string? twirpCode = null, Exception? inner = null)
    : Exception(message, inner)
{
    public LiveKitErrorKind Kind { get; } = kind;

    /// <summary>The HTTP status, when the server answered.</summary>
    public int? HttpStatus { get; } = httpStatus;

    /// <summary>The "code" of a Twirp JSON error body exactly as sent; null when the body was not Twirp JSON.</summary>
    public string? TwirpCode { get; } = twirpCode;

    /// <summary>Twirp's wire names, in <see cref="LiveKitErrorKind"/> order for the Twirp codes.</summary>
    private static readonly Dictionary<string, LiveKitErrorKind> ByTwirpCode = Enum.GetValues<LiveKitErrorKind>()
        .Where(k => k < LiveKitErrorKind.Timeout)
        .ToDictionary(k => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(k.ToString()));

    /// <summary>A Twirp code as sent; a code this client does not know is <see cref="LiveKitErrorKind.Unknown"/>.</summary>
    public static LiveKitErrorKind FromTwirpCode(string code) => ByTwirpCode.GetValueOrDefault(code, LiveKitErrorKind.Unknown);

    /// <summary>
    /// The kind of an error body that is not Twirp JSON (LiveKit's auth middleware answers plain text; a proxy may
    /// answer HTML), mapped from the status as Twirp's own clients do (twirp: errorFromIntermediary).
    /// </summary>
    public static LiveKitErrorKind FromHttpStatus(int status) => status switch
    {
        >= 300 and < 400 => LiveKitErrorKind.Internal,
        400 => LiveKitErrorKind.Internal,
        401 => LiveKitErrorKind.Unauthenticated,
        403 => LiveKitErrorKind.PermissionDenied,
        404 => LiveKitErrorKind.BadRoute,
        429 or 502 or 503 or 504 => LiveKitErrorKind.Unavailable,
        _ => LiveKitErrorKind.Unknown,
    };
}
