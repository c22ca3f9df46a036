using Microsoft.AspNetCore.Http.HttpResults;

namespace RoomReconciler.LiveKit;

/// <summary>
/// POST /livekit/webhook (docs/contract.md): 200 for an accepted or duplicate event, 401 for a missing or bad signature,
/// 400 for a signed body that is not a webhook event, 413 for a body over 1 MiB, 503 when the database cannot
/// record the event within <see cref="WebhookEventStore.RecordWait"/> (LiveKit retries 5xx, not 4xx: docs/livekit.md §4).
/// </summary>
public static class WebhookApi
{
    public const string Path = "/livekit/webhook";

    /// <summary>LiveKit's events are a few KiB; anything near this is not from LiveKit.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapWebhookApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(Path, HandleAsync);
        return app;
    }

    public static async Task<Results<Ok, UnauthorizedHttpResult, ProblemHttpResult>> HandleAsync(
        HttpRequest request, WebhookReceiver receiver, WebhookEventStore store, IEnumerable<IRoomEventHandler> handlers,
        LiveKitMetrics metrics, ILoggerFactory loggers, CancellationToken ct)
    {
        using var activity = WebhookTracing.Source.StartActivity("livekit webhook");
        var logger = loggers.CreateLogger(typeof(WebhookApi));
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length == 0) return Reject(logger, metrics, "no Authorization header");

        // The raw bytes, before any JSON binding: the signature covers exactly these.
        var body = await ReadBodyAsync(request, ct);
        if (body is null)
        {
            metrics.WebhookRejected("too_large");
            return TypedResults.Problem($"the body exceeds {MaxBodyBytes} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        WebhookEvent evt;
        try { evt = receiver.Receive(body, authorization); }
        catch (TokenRejectedException e) { return Reject(logger, metrics, e.Message); }
        catch (MalformedWebhookException e)
        {
            logger.LogWarning("Rejected a LiveKit webhook: {Reason}", e.Message);
            metrics.WebhookRejected("malformed");
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
        }

        bool isNew;
        // Bounded, and the wait given up at the bound even if the driver is still unwinding: on a silent path to
        // PostgreSQL, LiveKit gets its 503 promptly and retries (another replica, or this one once the path is back).
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(WebhookEventStore.RecordWait);
        try { isNew = await store.TryRecordAsync(evt, bounded.Token).WaitAsync(bounded.Token); }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            // Not a 500 with a trace: LiveKit retries a 503, and the event is recorded once the database is back.
            logger.LogWarning("Cannot record LiveKit webhook {EventId}: {Error}; answered 503 so that LiveKit retries",
                evt.Id, e.Message);
            metrics.WebhookRejected("unavailable");
            return TypedResults.Problem("the event cannot be recorded now; retry", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (isNew) await DispatchAsync(evt, handlers, logger, ct);
        else logger.LogDebug("Duplicate LiveKit webhook {EventId} ({Event}) ignored", evt.Id, evt.Event);
        metrics.WebhookAccepted(isNew ? evt.Event : "duplicate");
        return TypedResults.Ok();
    }

    /// <summary>Hands a new event to every handler in turn; each is quick (a log line, an enqueue), so the answer to LiveKit waits for none.</summary>
    private static async Task DispatchAsync(WebhookEvent evt, IEnumerable<IRoomEventHandler> handlers, ILogger logger, CancellationToken ct)
    {
        foreach (var handler in handlers)
        {
            try { await handler.HandleAsync(evt, ct); }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                logger.LogError(e, "{Handler} failed on {Event} {EventId}", handler.GetType().Name, evt.Event, evt.Id);
            }
        }
    }

    private static UnauthorizedHttpResult Reject(ILogger logger, LiveKitMetrics metrics, string reason)
    {
        logger.LogWarning("Rejected a LiveKit webhook: {Reason}", reason);
        metrics.WebhookRejected("signature");
        return TypedResults.Unauthorized();
    }

    /// <returns>the body, or null when it exceeds <see cref="MaxBodyBytes"/></returns>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBodyBytes) return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes) return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
