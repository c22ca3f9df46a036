using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace LiveKitSimulator;

/// <summary>
/// RoomService over Twirp JSON (§1), in the server's order: auth middleware, Twirp routing, Content-Type,
/// body decoding, then the grant check and the call itself.
/// </summary>
internal sealed class TwirpRoomService(
    RoomStore rooms, FaultInjector faults, CallCounter calls, RateLimit rateLimit, ApiAuth auth, SimulatorOptions options, CancellationToken stopping)
{
    public const string Prefix = "/twirp/livekit.RoomService/";

    // The rest of the service (§1) exists on the real server; the simulator answers them unimplemented.
    private static readonly HashSet<string> Unimplemented = new(StringComparer.Ordinal)
    {
        "MutePublishedTrack", "UpdateParticipant", "UpdateSubscriptions", "SendData", "UpdateRoomMetadata",
        "PerformRpc", "ForwardParticipant", "MoveParticipant",
    };

    private static readonly Dictionary<string, int> StatusOfCode = new(StringComparer.Ordinal)
    {
        ["canceled"] = 408, ["unknown"] = 500, ["invalid_argument"] = 400, ["malformed"] = 400,
        ["deadline_exceeded"] = 408, ["not_found"] = 404, ["bad_route"] = 404, ["already_exists"] = 409,
        ["permission_denied"] = 403, ["unauthenticated"] = 401, ["resource_exhausted"] = 429,
        ["failed_precondition"] = 412, ["aborted"] = 409, ["out_of_range"] = 400, ["unimplemented"] = 501,
        ["internal"] = 500, ["unavailable"] = 503, ["data_loss"] = 500,
    };

    private delegate Task Call(HttpContext context, JsonInput input, VideoGrant grant);

    private Call? Find(string method) => method switch
    {
        "ListRooms" => ListRooms,
        "ListParticipants" => ListParticipants,
        "GetParticipant" => GetParticipant,
        "RemoveParticipant" => RemoveParticipant,
        "DeleteRoom" => DeleteRoom,
        "CreateRoom" => CreateRoom,
        _ => null,
    };

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        var method = path.StartsWith(Prefix, StringComparison.Ordinal) ? path[Prefix.Length..] : path;
        calls.Count(method);
        if (!rateLimit.Admit())
        {
            await Error(context, "resource_exhausted", "rate limit exceeded");
            return;
        }

        if (faults.Take(method) is { } fault && await FaultAsync(context, fault)) return;

        var outcome = auth.Authenticate(request);
        if (outcome.Rejection is { } rejection)
        {
            await PlainUnauthorized(context, rejection);
            return;
        }

        var route = $"{request.Method} {path}";
        if (!HttpMethods.IsPost(request.Method))
        {
            await BadRoute(context, $"unsupported method \"{request.Method}\" (only POST is allowed)", route);
            return;
        }
        var call = Find(method);
        if (call is null && !Unimplemented.Contains(method))
        {
            await BadRoute(context, $"no handler for path \"{path}\"", route);
            return;
        }
        var contentType = request.ContentType ?? "";
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is not ("application/json" or "application/protobuf"))
        {
            await BadRoute(context, $"unexpected Content-Type: \"{contentType}\"", route);
            return;
        }
        if (mediaType == "application/protobuf")
        {
            await Error(context, "unimplemented", "the LiveKit simulator speaks only JSON Twirp; send Content-Type application/json");
            return;
        }
        if (call is null)
        {
            await Error(context, "unimplemented", $"{method} is not implemented by the LiveKit simulator");
            return;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        JsonInput input;
        try
        {
            input = JsonInput.Parse(body.ToArray());
        }
        catch (BadInputException)
        {
            await Error(context, "malformed", "the json request could not be decoded");
            return;
        }
        try
        {
            await call(context, input, outcome.Grant);
        }
        catch (BadInputException)
        {
            // A field of the wrong type: protojson fails the whole decode.
            if (!context.Response.HasStarted) await Error(context, "malformed", "the json request could not be decoded");
        }
    }

    private Task ListRooms(HttpContext context, JsonInput input, VideoGrant grant)
    {
        var names = input.Strings("names");
        if (!grant.RoomList) return PermissionDenied(context);
        return Ok(context, w => w.Messages("rooms", rooms.List(names), LiveKitMessages.Room));
    }

    private Task ListParticipants(HttpContext context, JsonInput input, VideoGrant grant)
    {
        var room = input.String("room") ?? "";
        if (!IsAdmin(grant, room)) return PermissionDenied(context);
        var participants = rooms.Participants(room);
        // psrpc asks the node that hosts the room; when none claims it the claim times out (§1).
        if (options.PsrpcListParticipants && (participants is null || rooms.IsOrphaned(room)))
            return Error(context, "unavailable", "no response from servers");
        return Ok(context, w => w.Messages("participants", participants ?? [], LiveKitMessages.Participant));
    }

    private Task GetParticipant(HttpContext context, JsonInput input, VideoGrant grant)
    {
        var (room, identity) = (input.String("room") ?? "", input.String("identity") ?? "");
        if (!IsAdmin(grant, room)) return PermissionDenied(context);
        return rooms.Participant(room, identity) is { } participant
            ? Ok(context, w => LiveKitMessages.Participant(w, participant))
            : ParticipantNotFound(context);
    }

    private Task RemoveParticipant(HttpContext context, JsonInput input, VideoGrant grant)
    {
        var (room, identity) = (input.String("room") ?? "", input.String("identity") ?? "");
        input.Number("revoke_token_ts");
        if (!IsAdmin(grant, room)) return PermissionDenied(context);
        return rooms.Leave(room, identity, DisconnectReason.ParticipantRemoved) is null
            ? ParticipantNotFound(context)
            : Ok(context, _ => { });
    }

    private Task DeleteRoom(HttpContext context, JsonInput input, VideoGrant grant)
    {
        var room = input.String("room") ?? "";
        if (!grant.RoomCreate) return PermissionDenied(context);
        return rooms.Delete(room) ? Ok(context, _ => { }) : Error(context, "not_found", "requested room does not exist");
    }

    private Task CreateRoom(HttpContext context, JsonInput input, VideoGrant grant)
    {
        var name = input.String("name") ?? "";
        var emptyTimeout = input.UInt32("empty_timeout");
        var departureTimeout = input.UInt32("departure_timeout");
        var maxParticipants = input.UInt32("max_participants") ?? 0;
        var metadata = input.String("metadata") ?? "";
        if (!grant.RoomCreate) return PermissionDenied(context);
        if (name.Length == 0) return Error(context, "invalid_argument", "room name is required");
        var room = rooms.Create(name, FromSeconds(emptyTimeout), FromSeconds(departureTimeout), maxParticipants, metadata);
        return Ok(context, w => LiveKitMessages.Room(w, room));
    }

    private static TimeSpan? FromSeconds(uint? seconds) => seconds is { } s ? TimeSpan.FromSeconds(s) : null;

    private static bool IsAdmin(VideoGrant grant, string room) => grant.RoomAdmin && grant.Room == room;

    /// <summary>Applies a fault; false when the call should then go on normally (a hang with a finite delay).</summary>
    private async Task<bool> FaultAsync(HttpContext context, Fault fault)
    {
        switch (fault.Kind)
        {
            case FaultKind.Internal:
                await Error(context, "internal", "simulated internal error");
                return true;
            case FaultKind.Unavailable:
                await Error(context, "unavailable", "simulated unavailable");
                return true;
            case FaultKind.Garbage:
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("<html><body>502 Bad Gateway</body></html>{\"rooms\":[{\"sid\":", context.RequestAborted);
                return true;
            case FaultKind.Unauthorized:
                await PlainUnauthorized(context, "invalid authorization token: token has invalid claims: token is expired");
                return true;
            default:
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping))
                {
                    try
                    {
                        await Task.Delay(fault.Delay ?? Timeout.InfiniteTimeSpan, linked.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return true;
                    }
                }
                return false;
        }
    }

    private static Task Ok(HttpContext context, Action<ProtoJsonWriter> fields)
    {
        context.Response.ContentType = "application/json";
        return context.Response.Body.WriteAsync(ProtoJsonWriter.Serialize(ProtoJsonStyle.Twirp, fields), context.RequestAborted).AsTask();
    }

    private static Task PermissionDenied(HttpContext context) => Error(context, "unauthenticated", "permissions denied");

    private static Task ParticipantNotFound(HttpContext context) => Error(context, "not_found", "participant does not exist");

    private static Task BadRoute(HttpContext context, string message, string route) =>
        Error(context, "bad_route", message, new Dictionary<string, string> { ["twirp_invalid_route"] = route });

    /// <summary>A Twirp JSON error: {"code","msg"} plus "meta" when there is any.</summary>
    public static async Task Error(HttpContext context, string code, string message, IReadOnlyDictionary<string, string>? meta = null)
    {
        context.Response.StatusCode = StatusOfCode[code];
        context.Response.ContentType = "application/json";
        var body = new Dictionary<string, object> { ["code"] = code, ["msg"] = message };
        if (meta is { Count: > 0 }) body["meta"] = meta;
        await context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(body, ProtoJsonWriter.Plain), context.RequestAborted);
    }

    /// <summary>The auth middleware's rejection: Go's http.Error, plain text with a trailing newline.</summary>
    private static Task PlainUnauthorized(HttpContext context, string message)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        return context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(message + "\n"), context.RequestAborted).AsTask();
    }
}
