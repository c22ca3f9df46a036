using System.Buffers;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace RoomReconciler.Clock;

/// <summary>
/// The Server-Sent Events answer of GET /clock/{id}/stream: <c>event: clock</c> with the snapshot at once and
/// after every change, a comment as heartbeat. Ends when the client goes, the session is deleted, the host
/// stops, the replica stops vouching for its clocks (after <c>event: unavailable</c>), or the client stops reading
/// for <see cref="WriteTimeout"/> (then the connection is aborted).
/// </summary>
public sealed class ClockStreamResult(ClockSubscriber subscriber, ClockStreams streams, DatabaseClock clock)
    : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    public const string ContentType = "text/event-stream";
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    private static readonly byte[] EventPrefix = "event: clock\ndata: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Heartbeat = ": heartbeat\n\n"u8.ToArray();

    /// <summary>Data is required: a browser's EventSource dispatches no event without it.</summary>
    public static readonly byte[] UnavailableEvent =
        System.Text.Encoding.UTF8.GetBytes($"event: unavailable\ndata: {{\"retry_after_ms\":{(int)ClockApi.RetryAfter.TotalMilliseconds}}}\n\n");

    int? IStatusCodeHttpResult.StatusCode => StatusCodes.Status200OK;
    string IContentTypeHttpResult.ContentType => ContentType;

    public async Task ExecuteAsync(HttpContext http)
    {
        var response = http.Response;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx: pass events through as they come
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var aborted = http.RequestAborted;
        // Registered once for the stream's life rather than with every wait: the client's leaving rings the doorbell.
        // (The host's stopping ends every subscriber at once, ClockStreams.)
        var ending = aborted.UnsafeRegister(static s => ((ClockSubscriber)s!).Wake(), subscriber);
        try
        {
            var sent = long.MinValue;
            while (!aborted.IsCancellationRequested && !subscriber.IsEnded)
            {
                // Only memory feeds a stream: once it is not vouched for, the client is told to look elsewhere.
                // (The estimate of the database's clock lasts longer than the vouching, so it is there while vouched.)
                if (subscriber.IsUnavailable || !clock.TryGetNow(out var now))
                {
                    await WriteAsync(http, UnavailableEvent);
                    return;
                }
                if (subscriber.Latest is { } latest && latest.Version > sent)
                {
                    if (latest.State is not { } state) return; // the session was deleted
                    sent = latest.Version;
                    if (!await WriteAsync(http, Render(latest, state, now))) return;
                    subscriber.TakeHeartbeat(); // an event is as good as a heartbeat
                }
                else if (subscriber.TakeHeartbeat() && !await WriteAsync(http, Heartbeat)) return;
                await subscriber.WaitAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // The client left: the stream simply ends.
        }
        finally
        {
            ending.Dispose();
            streams.Unsubscribe(subscriber);
        }
    }

    private static byte[] Render(ClockEntry entry, ClockState state, long now)
    {
        if (entry.LastEvent is { } rendered && rendered.ServerNow == now) return rendered.Bytes;
        var json = JsonSerializer.SerializeToUtf8Bytes(state.ToSnapshot(now), ClockJsonContext.Default.ClockSnapshot);
        var bytes = new byte[EventPrefix.Length + json.Length + EventEnd.Length];
        EventPrefix.CopyTo(bytes, 0);
        json.CopyTo(bytes, EventPrefix.Length);
        EventEnd.CopyTo(bytes, EventPrefix.Length + json.Length);
        entry.LastEvent = new RenderedEvent(now, bytes);
        return bytes;
    }

    /// <summary>False when the client did not take the bytes within <see cref="WriteTimeout"/>: it is cut off so that it holds nothing.</summary>
    private static async ValueTask<bool> WriteAsync(HttpContext http, byte[] bytes)
    {
        var cancellationToken = http.RequestAborted;
        var body = http.Response.BodyWriter;
        body.Write(bytes);
        var flush = body.FlushAsync(cancellationToken);
        // The usual case: the bytes fit the connection's buffer and no timer is needed. A timer per write would
        // be a thousand timers per change of a session with a thousand subscribers.
        if (flush.IsCompletedSuccessfully) return !flush.Result.IsCompleted;
        try
        {
            var flushed = await flush.AsTask().WaitAsync(WriteTimeout, cancellationToken);
            return !flushed.IsCompleted && !flushed.IsCanceled;
        }
        catch (TimeoutException)
        {
            http.Abort();
            return false;
        }
    }

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), [ContentType]));
}
