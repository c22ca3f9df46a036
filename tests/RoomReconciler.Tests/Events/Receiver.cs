using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RoomReconciler.Tests.Events;

/// <summary>One POST as the receiver saw it, with the verdict of the standardwebhooks package on it.</summary>
public sealed record Delivery(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("timestamp")] long Timestamp,
    [property: JsonPropertyName("signature")] string Signature,
    [property: JsonPropertyName("receivedAt")] long ReceivedAt,
    [property: JsonPropertyName("verified")] bool Verified,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("payload")] JsonElement Payload,
    [property: JsonPropertyName("status")] int Status)
{
    public Guid Session => Guid.Parse(Payload.GetProperty("data").GetProperty("session_id").GetString()!);
    public long Sequence => Payload.GetProperty("data").GetProperty("sequence").GetInt64();
    public string Type => Payload.GetProperty("type").GetString()!;
    public string Source => Payload.GetProperty("data").GetProperty("source").GetString()!;
    public bool Acknowledged => Status is >= 200 and < 300;
}

/// <summary>
/// tests/receiver/receiver.mjs as its own Node process: an application's server that verifies every delivery with the
/// standardwebhooks npm package. Stopping it and starting it again on the same port is a receiver that is down.
/// </summary>
public sealed class Receiver : IAsyncDisposable
{
    public const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Process _process;

    private Receiver(Process process, int port) => (_process, Port) = (process, port);

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/events";
    private string Base => $"http://127.0.0.1:{Port}";

    public static string Folder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (Path.Combine(dir.FullName, "tests", "receiver") is var folder && Directory.Exists(Path.Combine(folder, "node_modules", "standardwebhooks")))
                    return folder;
            throw new InvalidOperationException("the test receiver is not installed: run `npm ci` in tests/receiver (./test.sh does)");
        }
    }

    /// <param name="port">0 for a free one; a given one to come back where the daemon sends</param>
    public static async Task<Receiver> StartAsync(int port = 0, string secret = Secret)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Folder };
        foreach (var a in new[] { "receiver.mjs", "--port", port.ToString(), "--secret", secret }) start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("listening on ", StringComparison.Ordinal) == true) listening.TrySetResult(int.Parse(e.Data["listening on ".Length..]));
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) TestContext.Progress.WriteLine($"[receiver] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = await Task.WhenAny(listening.Task, Task.Delay(TimeSpan.FromSeconds(15)));
        if (started != listening.Task) { process.Kill(); throw new InvalidOperationException("the receiver did not start within 15 s"); }
        return new Receiver(process, await listening.Task);
    }

    public async Task<IReadOnlyList<Delivery>> DeliveriesAsync() =>
        (await Http.GetFromJsonAsync<List<Delivery>>(Base + "/deliveries"))!;

    /// <summary>How it answers from now on: a status for every delivery, or a failing status for some sessions only; after a delay.</summary>
    public async Task AnswerAsync(int status = 200, Guid[]? failSessions = null, int failStatus = 500, TimeSpan? delay = null)
    {
        using var response = await Http.PostAsJsonAsync(Base + "/control",
            new { status, failSessions = failSessions ?? [], failStatus, delayMs = (int)(delay ?? TimeSpan.Zero).TotalMilliseconds });
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
