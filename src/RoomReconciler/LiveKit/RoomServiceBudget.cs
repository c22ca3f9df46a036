using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace RoomReconciler.LiveKit;

/// <summary>
/// The time budget of one RoomService call, derived from Reconciler:PollInterval (P, default 10 s) so that a
/// call, retries included, always ends before the next poll begins. The numbers for P = 10 s are in brackets.
/// </summary>
public sealed record RoomServiceBudget(
    TimeSpan Total, TimeSpan Attempt, int Retries, TimeSpan RetryDelay, TimeSpan SamplingDuration, TimeSpan BreakDuration)
{
    /// <summary>A healthy LiveKit answers these store reads in milliseconds; longer than this is a stuck node.</summary>
    private static readonly TimeSpan MaxAttempt = TimeSpan.FromSeconds(10);

    // Polly's own lower bounds: timeouts 10 ms, circuit-breaker durations 500 ms.
    private static readonly TimeSpan MinTimeout = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MinBreakerDuration = TimeSpan.FromMilliseconds(500);

    public static RoomServiceBudget For(TimeSpan pollInterval)
    {
        // Total [8 s] = 80% of P: the answer arrives before the next poll starts, with 20% left for that
        // poll's own SQL. It bounds everything: attempts, back-off, retries.
        var total = Max(pollInterval * 0.8, 2 * MinTimeout);
        // Attempt [2.5 s] = P/4, at most 10 s: a stuck attempt is abandoned early enough for two more
        // attempts (3 × 2.5 s + back-off ≈ 8 s) to fit in the total.
        var attempt = Max(Min(pollInterval / 4, MaxAttempt), MinTimeout);
        if (attempt >= total) attempt = total / 2;
        return new RoomServiceBudget(
            Total: total,
            Attempt: attempt,
            // Retries [2], back-off from [200 ms], exponential with jitter: the calls are reads, safe to repeat;
            // the jitter keeps many rooms' calls from retrying in step against a recovering server.
            Retries: 2,
            RetryDelay: Min(TimeSpan.FromMilliseconds(200), pollInterval / 20),
            // Breaker sampling [30 s] = 3 polls (and at least the 2 × attempt Polly requires): if half of ≥ 10
            // calls over three polls failed, LiveKit is down; stop calling for [5 s] = P/2, so each poll probes
            // it again rather than piling calls for every room onto a server that cannot answer.
            SamplingDuration: Max(Max(pollInterval * 3, attempt * 2), MinBreakerDuration),
            BreakDuration: Max(pollInterval / 2, MinBreakerDuration));
    }

    /// <param name="requests">the request budget, which every retried attempt spends from as the first attempt did</param>
    public void ApplyTo(HttpStandardResilienceOptions options, RequestBudget requests)
    {
        options.TotalRequestTimeout.Timeout = Total;
        options.AttemptTimeout.Timeout = Attempt;
        options.Retry.MaxRetryAttempts = Retries;
        options.Retry.Delay = RetryDelay;
        options.Retry.BackoffType = Polly.DelayBackoffType.Exponential;
        options.Retry.UseJitter = true;
        options.CircuitBreaker.SamplingDuration = SamplingDuration;
        options.CircuitBreaker.BreakDuration = BreakDuration;
        options.CircuitBreaker.FailureRatio = 0.5;
        options.CircuitBreaker.MinimumThroughput = 10;
        // An answer is not an outage: retrying a 429 at once is the retry storm LiveKit is asking us to stop, and a closed
        // room's psrpc `unavailable` is the room's state. Neither is retried, neither counts toward opening the breaker.
        // A retry is a call like any other: it spends from the request budget at its call's priority, and when the window
        // has no room for it the call ends with the outage it met rather than wait (the next poll looks again).
        // Polly asks after the last attempt too, so only an attempt that will be made is spent.
        options.Retry.ShouldHandle = async args => IsOutage(args.Outcome) && args.AttemptNumber < Retries
            && await requests.TakeRetryAsync(RoomServiceClient.PriorityOf(args.Context.GetRequestMessage()), args.Context.CancellationToken);
        options.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(IsOutage(args.Outcome));
    }

    /// <summary>A transient failure (5xx, 408, a timeout, no connection) that is not one of LiveKit's answers.</summary>
    public static bool IsOutage(Polly.Outcome<HttpResponseMessage> outcome) =>
        HttpClientResiliencePredicates.IsTransient(outcome) && !(outcome.Result is { } response && IsAnswer(response));

    /// <summary>
    /// 429 (LiveKit's rate limit, Twirp resource_exhausted), or ListParticipants' Twirp JSON 503 `unavailable`, which
    /// psrpc sends for a room no node hosts (docs/livekit.md §1): the client tells a closed room from an outage itself.
    /// </summary>
    public static bool IsAnswer(HttpResponseMessage response) =>
        (int)response.StatusCode == 429
        || (int)response.StatusCode == 503
           && response.Content.Headers.ContentType?.MediaType == "application/json"
           && response.RequestMessage?.RequestUri?.AbsolutePath.EndsWith("/ListParticipants", StringComparison.Ordinal) == true;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
