using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Polly;
using Polly.Timeout;

namespace RoomReconciler.LiveKit;

/// <summary>
/// LiveKit's RoomService over Twirp JSON (docs/livekit.md §1), named as the SDKs name it. A typed HttpClient:
/// base address, time budget and resilience (retries, timeouts, circuit breaker) come from
/// <see cref="LiveKitRegistration.AddLiveKit"/>. Every failure is a <see cref="LiveKitException"/>, except
/// OperationCanceledException when the caller's own token is cancelled.
/// </summary>
public sealed class RoomServiceClient(HttpClient http, ServerTokens tokens, LiveKitMetrics metrics, RequestBudget budget, RoomServiceBudget timeBudget)
{
    /// <summary>Relative to LiveKit:Url, so that a URL with a path prefix works behind a proxy.</summary>
    public const string ServicePath = "twirp/livekit.RoomService/";

    /// <summary>Error bodies are short text or Twirp JSON; more than this is a proxy's page, shown truncated.</summary>
    private const int MaxErrorText = 300;

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>The call's priority, carried on its request so that a retried attempt spends from the budget as the first did.</summary>
    private static readonly HttpRequestOptionsKey<RequestPriority> Priority = new("RoomReconciler.RequestPriority");

    /// <summary>The priority a call's retried attempt spends at (<see cref="FollowUp"/> of the call's own).</summary>
    public static RequestPriority PriorityOf(HttpRequestMessage? request) =>
        FollowUp(request is not null && request.Options.TryGetValue(Priority, out var priority) ? priority : RequestPriority.Prepaid);

    /// <summary>
    /// What a call made for another (a retry, a closed room's confirmation) spends at: the call's own priority, or for a
    /// look paid in a batch, whose share is spent already, the sweep's.
    /// </summary>
    private static RequestPriority FollowUp(RequestPriority priority) =>
        priority == RequestPriority.Prepaid ? RequestPriority.Verification : priority;

    /// <summary>The rooms named, or every room when <paramref name="names"/> is null or empty. Unknown names are simply absent.</summary>
    /// <param name="priority">what the call is for, which decides how it spends the request budget (<see cref="RequestBudget"/>)</param>
    public async Task<IReadOnlyList<Room>> ListRooms(IReadOnlyCollection<string>? names, CancellationToken ct, RequestPriority priority = RequestPriority.Listing)
    {
        var request = new ListRoomsRequest(names is { Count: > 0 } ? names : null);
        var response = await Call<ListRoomsRequest, ListRoomsResponse>("ListRooms", request, tokens.ForRoomList(), priority, ct);
        return response.Rooms ?? [];
    }

    /// <summary>
    /// Everyone in the room, hidden participants, agents, egress and JOINING ones included: filter on Kind, State and
    /// IsHidden yourself. An unknown room is an empty list, whether the server answers [] or 404 not_found (§1).
    /// With psrpc (api.enable_psrpc_for_get_list_participants) a room no node hosts answers 503 unavailable; ListRooms
    /// with its name then tells a closed room (empty) from a LiveKit that cannot answer (the exception stands); that
    /// answer is neither retried nor counted by the circuit breaker (<see cref="RoomServiceBudget.IsAnswer"/>).
    /// </summary>
    public async Task<IReadOnlyList<ParticipantInfo>> ListParticipants(string room, CancellationToken ct, RequestPriority priority = RequestPriority.Listing)
    {
        try
        {
            var response = await Call<ListParticipantsRequest, ListParticipantsResponse>(
                "ListParticipants", new ListParticipantsRequest(room), tokens.ForRoomAdmin(room), priority, ct);
            return response.Participants ?? [];
        }
        catch (LiveKitException e) when (e.Kind == LiveKitErrorKind.NotFound) { return []; }
        catch (LiveKitException e) when (e.Kind == LiveKitErrorKind.Unavailable)
        {
            // The confirmation spends from the budget at the priority of the look it completes.
            if ((await ListRooms([room], ct, FollowUp(priority))).Count == 0) return [];
            throw;
        }
    }

    private async Task<TResponse> Call<TRequest, TResponse>(string method, TRequest request, string token, RequestPriority priority, CancellationToken ct)
        where TResponse : class
    {
        await budget.WaitAsync(priority, ct);
        using var message = new HttpRequestMessage(HttpMethod.Post, ServicePath + method)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, LiveKitJson.Options))
            {
                Headers = { ContentType = Json },
            },
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token), Accept = { new MediaTypeWithQualityHeaderValue("application/json") } },
        };
        message.Options.Set(Priority, priority);
        var outcome = "ok";
        try
        {
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, ct);
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            if ((int)response.StatusCode == 429)
            {
                // Throttled: an answer, not an outage. Slow the whole budget down; the caller's next look is the retry.
                // Whatever the body says (a proxy's 429 maps to unavailable in Twirp's own clients), it is resource_exhausted,
                // so that ListParticipants does not take it for a closed room and spend another call confirming it.
                metrics.Throttled(method);
                await budget.ThrottledAsync(response.Headers.RetryAfter?.Delta, ct);
                throw new LiveKitException(LiveKitErrorKind.ResourceExhausted,
                    $"LiveKit {method}: throttled (HTTP 429): {Excerpt(body)}", 429, "resource_exhausted");
            }
            if (!response.IsSuccessStatusCode) throw ErrorFrom(method, (int)response.StatusCode, body);
            return Parse<TResponse>(method, body);
        }
        catch (LiveKitException e)
        {
            outcome = e.Kind.ToString();
            throw;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            outcome = "cancelled";
            throw;
        }
        catch (Exception e) when (e is TimeoutRejectedException or OperationCanceledException)
        {
            // Polly's attempt or total timeout, or HttpClient.Timeout (the hard cap that also covers the body read).
            outcome = nameof(LiveKitErrorKind.Timeout);
            throw new LiveKitException(LiveKitErrorKind.Timeout,
                $"LiveKit {method}: no answer within the time budget ({timeBudget.Attempt.TotalSeconds:0.###} s an attempt, {timeBudget.Total.TotalSeconds:0.###} s in all)", inner: e);
        }
        catch (Exception e) when (e is HttpRequestException or ExecutionRejectedException)
        {
            // Connection refused/reset, DNS, TLS, a body over the buffer limit; or the circuit breaker is open.
            outcome = nameof(LiveKitErrorKind.Transport);
            throw new LiveKitException(LiveKitErrorKind.Transport, $"LiveKit {method}: {e.Message}", inner: e);
        }
        finally
        {
            metrics.Call(method, outcome);
        }
    }

    private static TResponse Parse<TResponse>(string method, byte[] body) where TResponse : class
    {
        try
        {
            return JsonSerializer.Deserialize<TResponse>(body, LiveKitJson.Options)
                   ?? throw new JsonException("the body is null");
        }
        catch (JsonException e)
        {
            throw new LiveKitException(LiveKitErrorKind.MalformedResponse,
                $"LiveKit {method}: the answer is not a {typeof(TResponse).Name}: {e.Message} (body: {Excerpt(body)})", inner: e);
        }
    }

    /// <summary>A Twirp JSON error body {"code","msg"}, or else (plain text from the auth middleware, a proxy's page) the status.</summary>
    private static LiveKitException ErrorFrom(string method, int status, byte[] body)
    {
        TwirpErrorBody? twirp = null;
        try { twirp = JsonSerializer.Deserialize<TwirpErrorBody>(body, LiveKitJson.Options); }
        catch (JsonException) { }
        return twirp is { Code: { Length: > 0 } code }
            ? new LiveKitException(LiveKitException.FromTwirpCode(code), $"LiveKit {method}: {code} (HTTP {status}): {twirp.Msg}", status, code)
            : new LiveKitException(LiveKitException.FromHttpStatus(status), $"LiveKit {method}: HTTP {status}: {Excerpt(body)}", status);
    }

    private static string Excerpt(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, MaxErrorText)).Trim();
        return body.Length > MaxErrorText ? text + "…" : text;
    }
}
