using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace RoomReconciler.Benchmarks;

/// <summary>The delay from a clock change's commit to its event at each of many subscribers of one session.</summary>
public static class StreamDelay
{
    public static async Task<(double P50, double P99, int Samples, double CpuMicrosecondsPerDelivery)> MeasureAsync(
        Uri address, string connectionString, Guid session, string token, int subscribers, int changes)
    {
        using var stop = new CancellationTokenSource();
        // received[change][subscriber]: when that subscriber read the event of that change (0 = not yet).
        var received = new long[changes, subscribers];
        var expectPaused = new bool[changes];
        for (var c = 0; c < changes; c++) expectPaused[c] = c % 2 == 0;
        var current = -1;
        var connected = new CountdownEvent(subscribers);
        var request = Encoding.ASCII.GetBytes($"GET /clock/{session}/stream?access_token={token} HTTP/1.1\r\nHost: bench\r\n\r\n");

        // Raw sockets rather than HttpClient: the subscribers share this machine's cores with the server, so the
        // cheaper they are, the more of the delay measured is the server's.
        var readers = Enumerable.Range(0, subscribers).Select(s => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(address.Host, address.Port, stop.Token);
            await socket.SendAsync(request, stop.Token);
            var buffer = new byte[4096];
            var events = 0;
            while (await socket.ReceiveAsync(buffer, stop.Token) is var read and > 0)
            {
                var text = Encoding.ASCII.GetString(buffer, 0, read);
                if (!text.Contains("event: clock")) continue;
                if (events++ == 0) { connected.Signal(); continue; }
                var change = Volatile.Read(ref current);
                if (change >= 0 && text.Contains(expectPaused[change] ? "\"is_paused\":true" : "\"is_paused\":false") && received[change, s] == 0)
                    received[change, s] = Stopwatch.GetTimestamp();
            }
        })).ToList();

        if (!connected.Wait(TimeSpan.FromSeconds(60))) throw new TimeoutException("the subscribers did not all connect");
        await using var database = NpgsqlDataSource.Create(connectionString);
        var delays = new List<double>();
        var cpu = TimeSpan.Zero;
        for (var c = 0; c < changes; c++)
        {
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            Volatile.Write(ref current, c);
            await using var command = database.CreateCommand($"SELECT session_clock_{(expectPaused[c] ? "pause" : "resume")}($1, 'benchmark')");
            command.Parameters.AddWithValue(session);
            var sent = Stopwatch.GetTimestamp(); // before the commit, so the commit's own time counts against us
            await command.ExecuteNonQueryAsync();
            var deadline = Stopwatch.StartNew();
            while (Enumerable.Range(0, subscribers).Any(s => Volatile.Read(ref received[c, s]) == 0) && deadline.Elapsed < TimeSpan.FromSeconds(10))
                await Task.Delay(5);
            cpu += Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            for (var s = 0; s < subscribers; s++)
                delays.Add(received[c, s] == 0 ? double.PositiveInfinity : Stopwatch.GetElapsedTime(sent, received[c, s]).TotalMilliseconds);
            await Task.Delay(200);
        }
        await stop.CancelAsync();
        try { await Task.WhenAll(readers); } catch (OperationCanceledException) { }
        delays.Sort();
        return (delays[delays.Count / 2], delays[(int)(delays.Count * 0.99)], delays.Count, cpu.TotalMicroseconds / delays.Count);
    }
}
