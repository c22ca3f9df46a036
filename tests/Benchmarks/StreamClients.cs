using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace RoomReconciler.Benchmarks;

/// <summary>
/// The clients of the streams benchmark, in their own process (`stream-clients URL FILE`): FILE has one
/// "session-id token" a line; two streams each, all opened at once on raw sockets. Prints the outcome, then holds the
/// streams open until its standard input closes, noting when each later event arrived. Each line of input asks for
/// the p50 / p99 of the events since the last one: "steady", each delay from the event's own last_state_change_at;
/// "since T" (Unix ms), from T, a commit that changed many clocks at once.
/// </summary>
public static partial class StreamClients
{
    // jsonb's text (the ceiling passes the notification on) has a space after the colon; the daemon's JSON has none.
    [System.Text.RegularExpressions.GeneratedRegex("\"last_state_change_at\":\\s*\"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex ChangedAt();

    public static async Task RunAsync(Uri address, string file)
    {
        var lines = File.ReadAllLines(file).Select(l => l.Split(' ')).ToArray();
        var sockets = new ConcurrentBag<Socket>();
        var refusedBy = new ConcurrentDictionary<string, int>();
        int opened = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        var delays = new ConcurrentQueue<(DateTime Received, DateTime ChangedAt)>();
        var readers = new ConcurrentBag<Task>();
        await Task.WhenAll(lines.SelectMany(l => new[] { l, l }).Select(async line =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(address.Host, address.Port);
                await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /clock/{line[0]}/stream?access_token={line[1]} HTTP/1.1\r\nHost: bench\r\n\r\n"));
                var buffer = new byte[4096];
                var text = "";
                while (!text.Contains("\r\n\r\n") || (text.StartsWith("HTTP/1.1 200") && !text.Contains("event: clock")))
                {
                    var read = await socket.ReceiveAsync(buffer);
                    if (read == 0) break;
                    text += Encoding.ASCII.GetString(buffer, 0, read);
                }
                if (text.StartsWith("HTTP/1.1 200") && text.Contains("event: clock")) { Interlocked.Increment(ref opened); sockets.Add(socket); readers.Add(ReadAsync(socket, delays)); return; }
                refusedBy.AddOrUpdate(text.Length >= 12 ? text[9..12] : "cut", 1, (_, n) => n + 1);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref failed);
            }
            if (!sockets.Contains(socket)) socket.Dispose();
        }));
        var refused = refusedBy.IsEmpty ? "0" : string.Join(" + ", refusedBy.Select(r => $"{r.Value} × {r.Key}"));
        Console.WriteLine($"opened {opened} refused {refused} failed {failed} in {clock.ElapsedMilliseconds} ms");
        while (await Console.In.ReadLineAsync() is { } request)
        {
            DateTime? since = request.StartsWith("since ") ? DateTime.UnixEpoch.AddMilliseconds(long.Parse(request[6..])) : null;
            var sorted = new List<double>();
            while (delays.TryDequeue(out var d)) sorted.Add((d.Received - (since ?? d.ChangedAt)).TotalMilliseconds);
            sorted.Sort();
            Console.WriteLine(sorted.Count == 0 ? "no changes delivered"
                : $"p50 {sorted[sorted.Count / 2]:0} ms, p99 {sorted[(int)(sorted.Count * 0.99)]:0} ms of {sorted.Count} deliveries");
        }
        foreach (var socket in sockets) socket.Dispose();
    }

    /// <summary>When every event after the connect's arrived, and its last_state_change_at (the database's clock, this machine's).</summary>
    private static async Task ReadAsync(Socket socket, ConcurrentQueue<(DateTime Received, DateTime ChangedAt)> delays)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer) is var read and > 0)
            {
                var now = DateTime.UtcNow;
                foreach (System.Text.RegularExpressions.Match match in ChangedAt().Matches(Encoding.ASCII.GetString(buffer, 0, read)))
                    delays.Enqueue((now, DateTime.Parse(match.Groups[1].Value, null, System.Globalization.DateTimeStyles.AdjustToUniversal)));
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // closed at the end
        }
    }
}
