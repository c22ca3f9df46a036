using System.Net;
using System.Net.Sockets;
using System.Text;
using RoomReconciler.Tests.Support;

namespace RoomReconciler.Tests.Clock;

/// <summary>A few thousand malformed requests at the running host: not one 5xx, and it keeps serving.</summary>
public sealed class MalformedRequestTests
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO"];
    private static readonly string[] Paths = ["/clock/", "/clock", "/clock/{id}", "/clock/{id}/stream", "/clock/{id}/stream/x", "/healthz", "/readyz",
        "/metrics", "/openapi/v1.json", "/livekit/webhook", "/", "/nope", "/clock/{id}/../../etc/passwd", "/clock//{id}/"];

    [Test]
    public async Task AFloodOfMalformedRequests_GetsNo5xx_AndTheHostKeepsServing()
    {
        await using var db = await ClockDatabase.CreateAsync();
        await using var host = await ClockHost.StartAsync(db.ConnectionString);
        var session = await db.NewSessionAsync();
        var random = new Random(20261124);
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();

        var http = Enumerable.Range(0, 2500).Select(i => HttpCase(random, session, i)).ToList();
        await Parallel.ForEachAsync(http, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (request, _) =>
        {
            try
            {
                using var response = await host.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                if ((int)response.StatusCode >= 500) failures.Add($"{request.Method} {request.RequestUri}: {(int)response.StatusCode}");
            }
            catch (HttpRequestException) { statuses.AddOrUpdate(0, 1, (_, n) => n + 1); } // the server closed on us: not a 5xx
            catch (TaskCanceledException) { failures.Add($"{request.Method} {request.RequestUri}: no answer"); }
        });

        var raw = Enumerable.Range(0, 300).Select(i => RawCase(random, session, i)).ToList();
        await Parallel.ForEachAsync(raw, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (bytes, _) =>
        {
            var status = await SendRawAsync(host.Address, bytes);
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            if (status >= 500) failures.Add($"raw {Encoding.Latin1.GetString(bytes[..Math.Min(80, bytes.Length)])}: {status}");
        });

        TestContext.Out.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.That(failures, Is.Empty);
        Assert.That(statuses.Keys.Where(s => s is >= 400 and < 500), Is.Not.Empty, "the flood was refused, not ignored");
        using var health = await host.Client.GetAsync("/healthz");
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var answer = await host.GetClockAsync(session);
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private static HttpRequestMessage HttpCase(Random random, Guid session, int i)
    {
        var path = Paths[random.Next(Paths.Length)].Replace("{id}", random.Next(4) switch
        {
            0 => session.ToString(),
            1 => Uri.EscapeDataString(Junk(random, random.Next(0, 64))),
            2 => new string('9', random.Next(1, 7000)),
            _ => Guid.NewGuid().ToString("N"),
        });
        if (random.Next(5) == 0) path += "?access_token=" + Uri.EscapeDataString(Junk(random, random.Next(0, 3000))) + "&access_token=x";
        var request = new HttpRequestMessage(new HttpMethod(Methods[random.Next(Methods.Length)]), path);
        switch (i % 8)
        {
            case 0: request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + Junk(random, random.Next(0, 20_000))); break;
            case 1: request.Headers.TryAddWithoutValidation("Authorization", ["Bearer a.b.c", "Bearer " + ClockHost.Token(session)]); break;
            case 2: for (var h = 0; h < 150; h++) request.Headers.TryAddWithoutValidation($"X-Flood-{h}", new string('h', 200)); break;
            case 3: request.Headers.TryAddWithoutValidation("X-Huge", new string('x', 40_000)); break;
            case 4: request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + ClockHost.Token(Guid.NewGuid())); break;
            case 5: request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(Junk(random, random.Next(0, 100_000)))); break;
            case 6: request.Headers.TryAddWithoutValidation("Authorization", Junk(random, 40)); break;
            default: request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + ClockHost.Token(session)); break;
        }
        return request;
    }

    private static string Junk(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++) chars[i] = (char)random.Next(random.Next(3) == 0 ? 0x20 : 0x21, random.Next(4) == 0 ? 0x2FFF : 0x7F);
        return new string(chars);
    }

    /// <summary>Bytes no HTTP client would send: garbage, truncated requests, lies about lengths, streams abandoned half-open.</summary>
    private static byte[] RawCase(Random random, Guid session, int i)
    {
        var token = ClockHost.Token(session);
        var text = (i % 10) switch
        {
            0 => Junk(random, random.Next(1, 2000)),
            1 => "GET /clock/" + session + " HTTP/1.1\r\nHost: x\r\n", // headers never finished
            2 => $"GET /clock/{session}/stream?access_token={token} HTTP/1.1\r\nHost: x\r\n\r\n", // stream opened, then abandoned
            3 => "POST /clock/" + session + " HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\nshort",
            4 => "GET /clock/" + session + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\ngarbage\r\n",
            5 => "GET /clock/\0\0\0 HTTP/1.1\r\nHost: x\r\n\r\n",
            6 => "GET " + new string('/', 20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
            7 => "GET /clock/" + session + " HTTP/1.0\r\n\r\n", // no Host, an old version
            // Not here: an unknown HTTP version (HTTP/9.9), which Kestrel answers 505 before any application code runs.
            8 => "GET /clock/" + session + " HTTP/1.1\r\n" + string.Concat(Enumerable.Repeat("A: b\r\n", 500)) + "\r\n",
            _ => "\u00ff\u00fe GET /clock/%%%% HTTP/1.1\r\nHost: \u00ff\r\nAuthorization: Bearer \u0001\u0002\r\n\r\n",
        };
        return Encoding.Latin1.GetBytes(text);
    }

    /// <returns>the status of the answer, or 0 when the server answered nothing and closed (or stayed silent)</returns>
    private static async Task<int> SendRawAsync(Uri address, byte[] bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(bytes);
            var buffer = new byte[64];
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(250));
            var read = await stream.ReadAsync(buffer, timeout.Token);
            var line = Encoding.Latin1.GetString(buffer, 0, read);
            return line.StartsWith("HTTP/1.1 ") && int.TryParse(line.AsSpan(9, 3), out var status) ? status : 0;
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            return 0;
        }
    }
}
