using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// The machine's ceiling for clock streams: a bare Kestrel app that LISTENs on session_clock and writes each
/// notification to the SSE subscribers of its session, and nothing else (no token, no cache, no snapshot read).
/// Run as its own process (`ceiling URL CONNECTIONSTRING`) so that its RSS is its own.
/// </summary>
public static class CeilingApp
{
    public static async Task RunAsync(string url, string connectionString)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        var app = builder.Build();
        var bySession = new ConcurrentDictionary<Guid, ConcurrentDictionary<Channel<byte[]>, byte>>();
        var hello = "event: clock\ndata: {}\n\n"u8.ToArray();

        // The one figure the benchmark reads from both servers, in the daemon's family (Hosting/MetricsExport.cs).
        app.MapGet("/metrics", () => $"dotnet_gc_allocated_bytes_total {GC.GetTotalAllocatedBytes()}\n");
        app.MapGet("/clock/{id:guid}/stream", async Task (Guid id, HttpContext http) =>
        {
            var mailbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
            bySession.GetOrAdd(id, _ => new()).TryAdd(mailbox, 0);
            try
            {
                http.Response.ContentType = "text/event-stream";
                await http.Response.Body.WriteAsync(hello, http.RequestAborted);
                await http.Response.Body.FlushAsync(http.RequestAborted);
                await foreach (var message in mailbox.Reader.ReadAllAsync(http.RequestAborted))
                {
                    await http.Response.Body.WriteAsync(message, http.RequestAborted);
                    await http.Response.Body.FlushAsync(http.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                bySession[id].TryRemove(mailbox, out _);
            }
        });
        await app.StartAsync();

        await using var listener = new NpgsqlConnection(connectionString);
        await listener.OpenAsync();
        listener.Notification += (_, e) =>
        {
            using var payload = JsonDocument.Parse(e.Payload);
            if (!bySession.TryGetValue(payload.RootElement.GetProperty("session_id").GetGuid(), out var set)) return;
            var message = Encoding.UTF8.GetBytes($"event: clock\ndata: {e.Payload}\n\n");
            foreach (var mailbox in set.Keys) mailbox.Writer.TryWrite(message);
        };
        await using (var listen = new NpgsqlCommand("LISTEN session_clock", listener)) await listen.ExecuteNonQueryAsync();
        Console.WriteLine("ready");
        while (true) await listener.WaitAsync();
    }
}
