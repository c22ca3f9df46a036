using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RoomReconciler.Clock;
using RoomReconciler.Hosting;
using RoomReconciler.LiveKit;

namespace RoomReconciler.Tests.Clock;

/// <summary>The real daemon host on real Kestrel (127.0.0.1, a free port) against a test database, and a client for it.</summary>
public sealed class ClockHost : IAsyncDisposable
{
    public const string ApiKey = "devkey";
    public const string ApiSecret = "secret";

    /// <summary>The host's pooled database connections carry this name, so tests can count them.</summary>
    public const string ApplicationName = "clock-host";

    private ClockHost(WebApplication app, Uri address)
    {
        App = app;
        Address = address;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }
    public Uri Address { get; }
    public HttpClient Client { get; }
    public ClockCache Cache => App.Services.GetRequiredService<ClockCache>();

    public static Task<ClockHost> StartAsync(string connectionString, params string[] extraArgs) =>
        StartAsync(connectionString, waitForListener: true, extraArgs);

    public static async Task<ClockHost> StartAsync(string connectionString, bool waitForListener, params string[] extraArgs)
    {
        var app = DaemonHost.Build([
            "--Urls=http://127.0.0.1:0", "--ConnectionStrings:Postgres=" + new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = ApplicationName },
            "--LiveKit:Url=http://127.0.0.1:1", $"--LiveKit:ApiKey={ApiKey}", $"--LiveKit:ApiSecret={ApiSecret}",
            // No LiveKit here: the reconciler's ticks would only fail and, sharing the pool, blur the connection counts.
            "--Reconciler:PollInterval=01:00:00",
            "--Serilog:MinimumLevel:Default=Warning", .. extraArgs]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var host = new ClockHost(app, new Uri(address));
        if (waitForListener) await host.WaitUntilTrustedAsync();
        return host;
    }

    /// <summary>Waits for the listener to connect, so that answers come from memory as in production.</summary>
    public async Task WaitUntilTrustedAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!Cache.IsTrusted || !App.Services.GetRequiredService<DatabaseClock>().TryGetNow(out _))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the clock listener did not connect");
            await Task.Delay(10);
        }
    }

    /// <summary>A LiveKit join token for the session's room (no prefix configured), valid for an hour from <paramref name="issuedAt"/>.</summary>
    public static string Token(Guid session, string secret = ApiSecret, DateTimeOffset? issuedAt = null, bool roomJoin = true) =>
        TokenForRoom(session.ToString("D"), secret, issuedAt, roomJoin);

    public static string TokenForRoom(string room, string secret = ApiSecret, DateTimeOffset? issuedAt = null, bool roomJoin = true) =>
        AccessToken.Create(ApiKey, secret, issuedAt ?? DateTimeOffset.UtcNow, TimeSpan.FromHours(1),
            new VideoGrants { RoomJoin = roomJoin, Room = room }, identity: "customer");

    public Task<HttpResponseMessage> GetClockAsync(Guid session) => GetAsync($"/clock/{session}", Token(session));

    public Task<HttpResponseMessage> GetAsync(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Client.SendAsync(request);
    }

    /// <summary>Opens /clock/{id}/stream and returns a reader of its events.</summary>
    public async Task<SseReader> SubscribeAsync(Guid session, HttpClient? client = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/clock/{session}/stream?access_token={Token(session)}");
        var response = await (client ?? Client).SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return new SseReader(response, await response.Content.ReadAsStreamAsync());
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>Reads Server-Sent Events: (event name, data) per event; comments as ("", ": text") when asked for.</summary>
public sealed class SseReader(HttpResponseMessage response, Stream body) : IDisposable
{
    private readonly StreamReader _reader = new(body);

    public HttpResponseMessage Response { get; } = response;

    /// <returns>the next event, or null at the end of the stream</returns>
    public async Task<(string Event, string Data)?> NextAsync(TimeSpan timeout, bool comments = false)
    {
        using var cts = new CancellationTokenSource(timeout);
        string name = "", data = "";
        while (await _reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.Length == 0)
            {
                if (name.Length > 0 || data.Length > 0) return (name, data);
                continue;
            }
            if (line.StartsWith(':')) { if (comments) return ("", line); continue; }
            if (line.StartsWith("event: ")) name = line[7..];
            else if (line.StartsWith("data: ")) data = line[6..];
        }
        return null;
    }

    public void Dispose()
    {
        _reader.Dispose();
        Response.Dispose();
    }
}
