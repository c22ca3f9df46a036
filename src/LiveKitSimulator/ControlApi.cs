using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LiveKitSimulator;

/// <summary>
/// JSON routes under /_simulator for scripts (see README.md). No auth: a loopback dev tool. Bad input answers
/// 400 {"error": "..."}, an unknown room or participant 404, never a crash.
/// </summary>
internal static class ControlApi
{
    public static void Map(IEndpointRouteBuilder app, SimulatorServer sim)
    {
        var rooms = sim.Rooms;
        var api = app.MapGroup("/_simulator");

        api.MapGet("/rooms", Handle(_ => Proto(w => w.Messages("rooms", rooms.List(), (r, room) =>
        {
            r.Message("room", inner => LiveKitMessages.Room(inner, room));
            r.Messages("participants", rooms.Participants(room.Name) ?? [], LiveKitMessages.Participant);
        }))));
        api.MapPost("/rooms", Handle(input =>
        {
            var room = rooms.Create(input.RequiredString("name"), input.Seconds("empty_timeout"), input.Seconds("departure_timeout"),
                input.UInt32("max_participants") ?? 0, input.String("metadata") ?? "");
            return Proto(w => LiveKitMessages.Room(w, room));
        }));
        api.MapDelete("/rooms/{name}", Handle((input, context) =>
            rooms.Delete((string)context.Request.RouteValues["name"]!) ? Json(new { }) : NotFound("no such room")));

        api.MapPost("/join", Handle(input =>
        {
            var join = new JoinOptions
            {
                Kind = input.Enum<ParticipantKind>("kind") ?? ParticipantKind.Standard,
                Hidden = input.Bool("hidden") ?? false,
                LegacyAgent = input.Bool("legacy_agent") ?? false,
                LegacyRecorder = input.Bool("legacy_recorder") ?? false,
                Active = input.Bool("active") ?? true,
                Name = input.String("name"),
                Metadata = input.String("metadata") ?? "",
                IsPublisher = input.Bool("is_publisher") ?? false,
                Attributes = input.StringMap("attributes"),
            };
            return Participant(rooms.Join(input.RequiredString("room"), input.RequiredString("identity"), join));
        }));
        api.MapPost("/activate", Handle(input => Participant(rooms.Activate(input.RequiredString("room"), input.RequiredString("identity")))));
        api.MapPost("/state", Handle(input => Participant(rooms.SetState(input.RequiredString("room"), input.RequiredString("identity"),
            input.Enum<ParticipantState>("state") ?? throw new BadInputException("'state' is required")))));
        api.MapPost("/leave", Handle(input =>
        {
            var left = rooms.Leave(input.RequiredString("room"), input.RequiredString("identity"),
                input.Enum<DisconnectReason>("reason") ?? DisconnectReason.ClientInitiated);
            return left is null ? NotFound("no such participant") : Participant(left);
        }));
        api.MapPost("/lose_network", Handle(input => Participant(rooms.LoseNetwork(input.RequiredString("room"), input.RequiredString("identity")))));
        api.MapPost("/fail_node", Handle(_ =>
        {
            rooms.FailNode();
            return Json(new { });
        }));
        api.MapPost("/staleness", Handle(input =>
        {
            sim.SetNumParticipantsStaleness(input.Seconds("seconds") ?? throw new BadInputException("'seconds' is required"));
            return Json(new { seconds = rooms.NumParticipantsRefresh.TotalSeconds });
        }));

        api.MapGet("/calls", Handle(_ => Json(sim.Calls.Snapshot())));
        api.MapDelete("/calls", Handle(_ =>
        {
            sim.Calls.Reset();
            return Json(new { });
        }));

        api.MapGet("/faults", Handle(_ => Json(FaultList(sim.Faults))));
        api.MapPost("/faults", Handle(input =>
        {
            var delay = input.Number("delay_ms");
            if (delay is < 0 or > int.MaxValue) throw new BadInputException("'delay_ms' must be between 0 and 2147483647");
            var count = input.UInt32("count");
            if (count is > int.MaxValue) throw new BadInputException("'count' is too large");
            sim.Faults.Inject(input.Enum<FaultKind>("kind") ?? throw new BadInputException("'kind' is required"),
                input.String("method"), (int?)count, delay is { } ms ? TimeSpan.FromMilliseconds(ms) : null);
            return Json(FaultList(sim.Faults));
        }));
        api.MapDelete("/faults", Handle((_, context) =>
        {
            if (context.Request.Query["method"].ToString() is { Length: > 0 } method) sim.Faults.Clear(method);
            else sim.Faults.Clear();
            return Json(FaultList(sim.Faults));
        }));

        api.MapGet("/webhooks", Handle(_ => Json(WebhookState(sim.Webhooks))));
        api.MapPost("/webhooks", Handle(input =>
        {
            if (input.Bool("enabled") is { } enabled) sim.Webhooks.Enabled = enabled;
            if (input.String("url") is { } url)
            {
                if (url.Length > 0 && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
                    throw new BadInputException("'url' must be an absolute http or https URL, or \"\" for none");
                sim.Webhooks.Url = url.Length == 0 ? null : url;
            }
            return Json(WebhookState(sim.Webhooks));
        }));
        api.MapPost("/webhooks/resend", Handle(input => Json(Delivery(sim.Webhooks.Resend(input.RequiredString("id"))))));
        api.MapPost("/webhooks/raw", HandleAsync(async (input, context) =>
        {
            var body = input.RequiredString("body");
            var signing = input.Enum<WebhookSigning>("signing") ?? WebhookSigning.Valid;
            if (sim.Webhooks.Url is null) throw new BadInputException("no webhook URL is configured");
            var status = await sim.Webhooks.SendRawAsync(body, signing, context.RequestAborted);
            return Json(new { status });
        }));
    }

    private static RequestDelegate Handle(Func<JsonInput, IResult> handler) => Handle((input, _) => handler(input));

    private static RequestDelegate Handle(Func<JsonInput, HttpContext, IResult> handler) =>
        HandleAsync((input, context) => Task.FromResult(handler(input, context)));

    private static RequestDelegate HandleAsync(Func<JsonInput, HttpContext, Task<IResult>> handler) => async context =>
    {
        IResult result;
        try
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var input = JsonInput.Parse(body.Length == 0 ? "{}"u8 : body.ToArray());
            result = await handler(input, context);
        }
        catch (BadInputException e)
        {
            result = Error(400, e.Message);
        }
        catch (KeyNotFoundException e)
        {
            result = Error(404, e.Message);
        }
        await result.ExecuteAsync(context);
    };

    private static IResult NotFound(string message) => Error(404, message);

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, ProtoJsonWriter.Plain, statusCode: status);

    private static IResult Json(object value) => Results.Json(value, ProtoJsonWriter.Plain);

    private static IResult Proto(Action<ProtoJsonWriter> fields) =>
        Results.Bytes(ProtoJsonWriter.Serialize(ProtoJsonStyle.Twirp, fields), "application/json");

    private static IResult Participant(Participant participant) => Proto(w => LiveKitMessages.Participant(w, participant));

    private static object FaultList(FaultInjector faults) => faults.Active.Select(f => new
    {
        method = f.Key,
        kind = ProtoNames.Of(f.Value.Kind).ToLowerInvariant(),
        remaining = f.Value.Remaining,
        delay_ms = f.Value.Delay?.TotalMilliseconds,
    });

    private static object WebhookState(WebhookSender webhooks) => new
    {
        url = webhooks.Url,
        enabled = webhooks.Enabled,
        events = webhooks.History.Select(Delivery),
    };

    private static object Delivery(WebhookDelivery d) => new
    {
        id = d.Id,
        @event = d.Event,
        room = d.Room,
        identity = d.Participant?.Identity,
        sid = d.Participant?.Sid,
        status = d.Status.ToString().ToLowerInvariant(),
        attempts = d.Attempts,
        http_status = d.HttpStatus,
    };
}
