using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace RoomReconciler.Tests.Operations;

/// <summary>
/// The real executable, `dotnet RoomReconciler.dll command args`, as an operator runs it: its exit code and every
/// line it writes (stdout and stderr together), with the environment the test gives it.
/// </summary>
public sealed class DaemonCommand : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private DaemonCommand(Process process) => _process = process;

    public IReadOnlyList<string> Lines => _lines.ToList();
    public string Output => string.Join("\n", _lines);
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static DaemonCommand Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RoomReconciler.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        // The test process's own settings (a developer's shell, CI) must not leak into what is tested.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OTEL_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var command = new DaemonCommand(Process.Start(start)!);
        command._process.OutputDataReceived += (_, e) => command.OnLine(e.Data);
        command._process.ErrorDataReceived += (_, e) => command.OnLine(e.Data);
        command._process.BeginOutputReadLine();
        command._process.BeginErrorReadLine();
        return command;
    }

    /// <summary>Runs a command that exits by itself (migrate, check, --version) and returns it, exited.</summary>
    public static async Task<DaemonCommand> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var command = Start(args, environment);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await command._process.WaitForExitAsync(timeout.Token);
        command._process.WaitForExit(); // drains the redirected output
        return command;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        TestContext.Progress.WriteLine($"[daemon {_process.Id}] {line}");
    }

    /// <summary>SIGTERM, as systemd and kubelet stop a service; then the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited) Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
