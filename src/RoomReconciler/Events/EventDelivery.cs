using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using RoomReconciler.Database;

namespace RoomReconciler.Events;

/// <summary>
/// Sends the outbox: claims due heads, POSTs each signed, records the answer. Woken by the outbox's NOTIFY (sent when
/// a transition commits) and by a timer for retries; it runs beside the reconciler, on its own connections and
/// threads, so a slow receiver never delays a clock transition or a tick.
/// </summary>
public sealed class EventDelivery(
    IOptions<EventsOptions> options, IOptions<PostgresOptions> postgres, OutboxStore store, IHttpClientFactory http,
    EventMetrics metrics, TimeProvider time, ILogger<EventDelivery> log) : BackgroundService
{
    public const string Channel = "roomreconciler_events";
    public const string HttpClientName = "events";

    /// <summary>Claimed per pass; a full batch means more may be due, so the next pass starts at once.</summary>
    private const int Batch = 64;

    /// <summary>Attempts in flight at once (each a different session or endpoint: one head each).</summary>
    private const int Parallelism = 16;

    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ListenRetry = TimeSpan.FromSeconds(2);

    private readonly Channel<bool> _wake = System.Threading.Channels.Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>By endpoint number.</summary>
    private readonly EventSigner[] _signers = [.. options.Value.Endpoints.Select(endpoint => new EventSigner(endpoint.Secrets()))];

    /// <param name="Status">the answer's status; null when there was none</param>
    /// <param name="Reason">the failure's kind for the metric: status, timeout or connection</param>
    private sealed record Answer(DeliveryOutcome Outcome, int? Status, string? Reason = null, string? Error = null);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        // Synced even with none configured: a replica started without endpoints idles those it no longer has.
        while (!await TryAsync(() => store.SyncEndpointsAsync(settings.Endpoints, stoppingToken), "sync the endpoints", stoppingToken))
            await Task.Delay(settings.PollInterval, time, stoppingToken);
        if (settings.Endpoints.Count == 0) return;
        log.LogInformation("Delivering events to {Count} endpoint(s): {Urls}", settings.Endpoints.Count, string.Join(", ", settings.Endpoints.Select(e => e.Url)));
        var listening = Task.Run(() => ListenAsync(stoppingToken), stoppingToken);
        var lastStatus = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            var next = settings.PollInterval;
            await TryAsync(async () =>
            {
                var claims = await store.ClaimAsync(Batch, settings.Endpoints.Count, settings.Lease(), stoppingToken);
                claimed = claims.Count;
                await Parallel.ForEachAsync(claims, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = stoppingToken },
                    async (claim, ct) => await AttemptAsync(claim, ct));
                if (time.GetUtcNow() - lastStatus >= StatusInterval)
                {
                    lastStatus = time.GetUtcNow();
                    foreach (var status in await store.StatusAsync(stoppingToken)) metrics.Backlog(status, lastStatus.ToUnixTimeMilliseconds());
                }
                if (claimed < Batch && await store.NextDueAsync(settings.Endpoints.Count, stoppingToken) is { } due && due < next) next = due;
            }, "deliver events", stoppingToken);
            if (claimed >= Batch) continue;
            using var sleep = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            sleep.CancelAfter(next);
            try { await _wake.Reader.ReadAsync(sleep.Token); }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested) { }
        }
        await listening;
    }

    private async Task AttemptAsync(DeliveryClaim claim, CancellationToken ct)
    {
        var endpoint = options.Value.Endpoints[claim.EndpointId];
        var body = Encoding.UTF8.GetString(claim.Payload);
        var answer = await SendAsync(endpoint.Url!, _signers[claim.EndpointId], claim, body, ct);
        switch (answer.Outcome)
        {
            case DeliveryOutcome.Acknowledged:
                await store.AcknowledgeAsync(claim, answer.Status!.Value, ct);
                metrics.Delivered(claim.EndpointId);
                return;
            case DeliveryOutcome.Gone:
                log.LogError("Events endpoint {Endpoint} ({Url}) answered 410 Gone: disabled for every replica; its events wait until `events replay --endpoint {Endpoint}` or a new Url",
                    claim.EndpointId, endpoint.Url, claim.EndpointId);
                await store.DisableAsync(claim, "410 Gone", ct);
                metrics.Disabled(claim.EndpointId);
                return;
        }
        var schedule = options.Value.Schedule();
        var retryAfter = claim.Attempt <= schedule.Count ? schedule[claim.Attempt - 1] : (TimeSpan?)null;
        var error = answer.Error!;
        await store.FailAsync(claim, answer.Status, error, retryAfter, ct);
        metrics.Failed(claim.EndpointId, answer.Reason!);
        if (retryAfter is null)
        {
            metrics.Dead(claim.EndpointId);
            log.LogError("Event {EventId} (session {SessionId}, sequence {Sequence}) is dead for endpoint {Endpoint} after {Attempts} attempts ({Error}); " +
                         "the session's later events wait until `events replay`", claim.EventId, claim.SessionId, claim.Sequence, claim.EndpointId, claim.Attempt, error);
        }
        else
            log.LogWarning("Event {EventId} (session {SessionId}, sequence {Sequence}) to endpoint {Endpoint} failed, attempt {Attempt} ({Error}); next try in {RetryAfter}",
                claim.EventId, claim.SessionId, claim.Sequence, claim.EndpointId, claim.Attempt, error, retryAfter);
    }

    private async Task<Answer> SendAsync(string url, EventSigner signer, DeliveryClaim claim, string body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(claim.Payload) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        foreach (var (name, value) in signer.Headers(claim.EventId, time.GetUtcNow(), body)) request.Headers.TryAddWithoutValidation(name, value);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(options.Value.Timeout);
        try
        {
            using var response = await http.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token);
            var status = (int)response.StatusCode;
            return status switch
            {
                >= 200 and < 300 => new Answer(DeliveryOutcome.Acknowledged, status),
                410 => new Answer(DeliveryOutcome.Gone, status),
                _ => new Answer(DeliveryOutcome.Failed, status, "status", $"HTTP {status}"),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Answer(DeliveryOutcome.Failed, null, "timeout", $"no answer within {options.Value.Timeout}");
        }
        catch (HttpRequestException e)
        {
            return new Answer(DeliveryOutcome.Failed, null, "connection", e.Message);
        }
    }

    /// <summary>LISTEN on its own connection; a notification only wakes the loop, which reads the database itself.</summary>
    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(postgres.Value.Postgres)
        {
            Pooling = false, ApplicationName = "RoomReconciler events listener", KeepAlive = 5,
        }.ConnectionString;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, _) => _wake.Writer.TryWrite(true);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection)) await listen.ExecuteNonQueryAsync(stoppingToken);
                _wake.Writer.TryWrite(true); // anything committed while not listening
                while (true) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { return; }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                log.LogWarning("Events listener lost the database ({Error}); delivering on the {PollInterval} timer until it reconnects, next try in {Retry}",
                    e.Message, options.Value.PollInterval, ListenRetry);
                try { await Task.Delay(ListenRetry, time, stoppingToken); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>A database that is down or refusing: one line, and the caller waits its interval before trying again.</summary>
    private async Task<bool> TryAsync(Func<Task> work, string what, CancellationToken stoppingToken)
    {
        try
        {
            await work();
            return true;
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested && (DatabaseFailure.IsUnavailable(e) || e is InvalidOperationException))
        {
            log.LogWarning("Events: cannot {What} ({Error}); trying again in {PollInterval}", what, e.Message, options.Value.PollInterval);
            metrics.DatabaseError();
            return false;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
