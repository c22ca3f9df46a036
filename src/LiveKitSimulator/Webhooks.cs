using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace LiveKitSimulator;

public enum WebhookStatus
{
    /// <summary>Queued or being retried.</summary>
    Pending,
    /// <summary>Answered 2xx or 3xx.</summary>
    Delivered,
    /// <summary>Answered 4xx (429 aside) or 501: not retried, and LiveKit counts it as sent.</summary>
    Rejected,
    /// <summary>Still failing after every retry.</summary>
    Failed,
    /// <summary>Dropped: its room queue was full, or it waited too long before its first send.</summary>
    Dropped,
    /// <summary>Not sent: webhooks switched off or no URL configured.</summary>
    Skipped,
}

/// <summary>How <see cref="WebhookSender.SendRawAsync"/> signs a crafted body, to test a receiver's checks.</summary>
public enum WebhookSigning { Valid, WrongSecret, BodyHashMismatch, Expired, Missing, BearerPrefix }

/// <summary>One webhook event and what became of its delivery.</summary>
public sealed class WebhookDelivery(string id, string @event, string room, Participant? participant, byte[] body)
{
    public string Id { get; } = id;
    public string Event { get; } = @event;
    public string Room { get; } = room;
    public Participant? Participant { get; } = participant;

    /// <summary>The exact bytes sent, which the signature's sha256 claim covers.</summary>
    public byte[] Body { get; } = body;

    public string BodyText => Encoding.UTF8.GetString(Body);
    public WebhookStatus Status { get; internal set; }
    public int Attempts { get; internal set; }

    /// <summary>The last HTTP status received; null when no answer came (connection error).</summary>
    public int? HttpStatus { get; internal set; }

    public override string ToString() => $"{Event} {Room} {Participant?.Identity} {Participant?.Sid} ({Status})";
}

/// <summary>
/// LiveKit's webhook notifier (§4): signed POSTs, one FIFO queue per room, retries on connection errors, 429 and
/// 5xx except 501, with exponential backoff.
/// </summary>
public sealed class WebhookSender : IAsyncDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Task> tails = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> queued = new(StringComparer.Ordinal);
    private readonly List<WebhookDelivery> history = [];
    private readonly CancellationTokenSource stopping = new();
    private readonly HttpClient http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly SimulatorOptions options;
    private readonly TimeProvider time;

    internal WebhookSender(SimulatorOptions options, TimeProvider time)
    {
        this.options = options;
        this.time = time;
        Url = options.WebhookUrl;
        Enabled = options.WebhooksEnabled;
    }

    /// <summary>Where events go; null sends nothing. Events already queued keep the URL they were queued for.</summary>
    public string? Url { get; set; }

    public bool Enabled { get; set; }

    /// <summary>Every event produced so far, in order, sent or not.</summary>
    public IReadOnlyList<WebhookDelivery> History
    {
        get { lock (gate) return history.ToList(); }
    }

    public void ClearHistory()
    {
        lock (gate) history.Clear();
    }

    /// <summary>Completes when every queued event has been delivered, rejected, failed or dropped.</summary>
    public async Task WhenIdleAsync()
    {
        while (true)
        {
            Task[] pending;
            lock (gate) pending = tails.Values.Where(t => !t.IsCompleted).ToArray();
            if (pending.Length == 0) return;
            await Task.WhenAll(pending);
        }
    }

    /// <summary>Sends an event again with the same id and body, behind its room's queue: a duplicate delivery.</summary>
    public WebhookDelivery Resend(string eventId)
    {
        WebhookDelivery original;
        lock (gate)
        {
            original = history.LastOrDefault(d => d.Id == eventId)
                ?? throw new KeyNotFoundException($"no webhook event with id '{eventId}'");
        }
        var copy = new WebhookDelivery(original.Id, original.Event, original.Room, original.Participant, original.Body);
        Queue(copy);
        return copy;
    }

    /// <summary>Posts a crafted body once, now, signed as asked; returns the HTTP status, or null on a connection error.</summary>
    public async Task<int?> SendRawAsync(string body, WebhookSigning signing = WebhookSigning.Valid, CancellationToken cancellationToken = default)
    {
        var url = Url ?? throw new InvalidOperationException("no webhook URL is configured");
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping.Token);
        var bytes = Encoding.UTF8.GetBytes(body);
        try
        {
            return await PostAsync(url, bytes, Authorization(bytes, signing), linked.Token);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    internal void Enqueue(string eventName, Room room, Participant? participant)
    {
        var id = RoomStore.NewSid("EV_");
        var body = ProtoJsonWriter.Serialize(ProtoJsonStyle.Webhook, w =>
        {
            w.String("event", eventName);
            w.Message("room", r => LiveKitMessages.Room(r, room));
            if (participant is not null) w.Message("participant", p => LiveKitMessages.Participant(p, participant));
            w.String("id", id);
            w.Int64("created_at", time.GetUtcNow().ToUnixTimeSeconds());
        });
        Queue(new WebhookDelivery(id, eventName, room.Name, participant, body));
    }

    private void Queue(WebhookDelivery delivery)
    {
        lock (gate)
        {
            history.Add(delivery);
            if (!Enabled || Url is not { } url)
            {
                delivery.Status = WebhookStatus.Skipped;
                return;
            }
            var waiting = queued.GetValueOrDefault(delivery.Room);
            if (waiting >= options.WebhookQueueLimit)
            {
                delivery.Status = WebhookStatus.Dropped;
                return;
            }
            queued[delivery.Room] = waiting + 1;
            var enqueuedAt = time.GetUtcNow();
            tails[delivery.Room] = tails.GetValueOrDefault(delivery.Room, Task.CompletedTask)
                .ContinueWith(_ => DeliverAsync(delivery, url, enqueuedAt), CancellationToken.None,
                    TaskContinuationOptions.None, TaskScheduler.Default)
                .Unwrap();
        }
    }

    private async Task DeliverAsync(WebhookDelivery delivery, string url, DateTimeOffset enqueuedAt)
    {
        try
        {
            if (time.GetUtcNow() - enqueuedAt > options.WebhookMaxQueueWait)
            {
                delivery.Status = WebhookStatus.Dropped;
                return;
            }
            // retryablehttp reuses the request, so every attempt carries the same token.
            var authorization = Authorization(delivery.Body, WebhookSigning.Valid);
            for (var attempt = 0; ; attempt++)
            {
                delivery.Attempts++;
                delivery.HttpStatus = await TryPostAsync(url, delivery.Body, authorization);
                if (delivery.HttpStatus is { } status && !Retryable(status))
                {
                    delivery.Status = status < 400 ? WebhookStatus.Delivered : WebhookStatus.Rejected;
                    return;
                }
                if (attempt >= options.WebhookRetries)
                {
                    delivery.Status = WebhookStatus.Failed;
                    return;
                }
                await Task.Delay(Backoff(attempt), time, stopping.Token);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            delivery.Status = WebhookStatus.Dropped;
        }
        finally
        {
            lock (gate) queued[delivery.Room]--;
        }
    }

    private async Task<int?> TryPostAsync(string url, byte[] body, string? authorization)
    {
        try
        {
            return await PostAsync(url, body, authorization, stopping.Token);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private async Task<int?> PostAsync(string url, byte[] body, string? authorization, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/webhook+json");
        request.Headers.UserAgent.ParseAdd("LiveKit");
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await http.SendAsync(request, cancellationToken);
        return (int)response.StatusCode;
    }

    private static bool Retryable(int status) => status == 429 || (status >= 500 && status != 501);

    private TimeSpan Backoff(int attempt)
    {
        var delay = options.WebhookRetryMin * Math.Pow(2, Math.Min(attempt, 30));
        return delay > options.WebhookRetryMax ? options.WebhookRetryMax : delay;
    }

    /// <summary>The Authorization header value: the raw JWT, without "Bearer " (§4).</summary>
    private string? Authorization(byte[] body, WebhookSigning signing)
    {
        if (signing == WebhookSigning.Missing) return null;
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (signing == WebhookSigning.Expired) now -= 3600;
        var hashed = signing == WebhookSigning.BodyHashMismatch ? [.. body, (byte)' '] : body;
        var claims = new JsonObject
        {
            ["iss"] = options.ApiKey,
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 300,
            ["sha256"] = Convert.ToBase64String(SHA256.HashData(hashed)),
        };
        var secret = signing == WebhookSigning.WrongSecret ? options.ApiSecret + "-wrong" : options.ApiSecret;
        var token = Jwt.Sign(claims, secret);
        return signing == WebhookSigning.BearerPrefix ? "Bearer " + token : token;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        try
        {
            await WhenIdleAsync();
        }
        finally
        {
            http.Dispose();
            stopping.Dispose();
        }
    }
}
