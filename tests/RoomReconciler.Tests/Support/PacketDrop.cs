using System.Diagnostics;

namespace RoomReconciler.Tests.Support;

/// <summary>
/// A silent network path, as a firewall's idle timeout or a dead NAT entry makes one: iptables rules that DROP (not
/// reject) every TCP packet to and from <see cref="Address"/>:port, so connections over it neither fail nor answer.
/// Scoped to that address and port alone (the suite's cluster also listens there; everything else uses 127.0.0.1),
/// tagged with this process's id, removed on dispose; rules left by a test process that died are removed first.
/// </summary>
public sealed class PacketDrop : IDisposable
{
    /// <summary>The loopback address whose path is cut; the rest of the suite reaches PostgreSQL at 127.0.0.1.</summary>
    public const string Address = "127.0.0.2";

    private const string TagPrefix = "roomreconciler-test-";

    private readonly List<string[]> _rules;
    private bool _removed;

    private PacketDrop(List<string[]> rules) => _rules = rules;

    /// <summary>
    /// For a test that cuts the path: ignored against an outside server (only the suite's own cluster also listens on
    /// <see cref="Address"/>), failed where packets cannot be dropped. CI runs as root with iptables installed.
    /// </summary>
    public static void Require()
    {
        if (TestDatabase.Cluster is null) Assert.Ignore("needs the suite's own PostgreSQL cluster, which also listens on " + Address);
        if (Unavailable() is { } why) Assert.Fail("cannot drop packets: " + why);
    }

    /// <summary>
    /// Why packets cannot be dropped here, or null when they can. iptables needs root (CAP_NET_ADMIN); ./test.sh
    /// installs it (.ci/setup.sh, require_iptables).
    /// </summary>
    private static string? Unavailable()
    {
        if (Environment.UserName != "root") return "dropping packets needs root (iptables)";
        try
        {
            var (code, output) = Run("-S", "OUTPUT");
            return code == 0 ? null : $"iptables -S OUTPUT failed: {output}";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "iptables is not installed (./test.sh installs it: apt-get install iptables)";
        }
    }

    /// <summary>Drops every packet of the TCP path to <see cref="Address"/>:<paramref name="port"/>, both ways.</summary>
    public static PacketDrop Start(int port)
    {
        RemoveLeftovers();
        var tag = TagPrefix + Environment.ProcessId;
        var p = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<string[]> rules =
        [
            ["OUTPUT", "-d", Address, "-p", "tcp", "--dport", p, "-m", "comment", "--comment", tag, "-j", "DROP"],
            ["OUTPUT", "-s", Address, "-p", "tcp", "--sport", p, "-m", "comment", "--comment", tag, "-j", "DROP"],
        ];
        var drop = new PacketDrop([]);
        try
        {
            foreach (var rule in rules)
            {
                Check(Run(["-I", .. rule]));
                drop._rules.Add(rule);
            }
        }
        catch
        {
            drop.Dispose();
            throw;
        }
        return drop;
    }

    /// <summary>The path works again: TCP's retransmissions carry on where they were.</summary>
    public void Dispose()
    {
        if (_removed) return;
        _removed = true;
        foreach (var rule in _rules) Run(["-D", .. rule]);
    }

    /// <summary>Rules tagged by test processes that no longer run (killed before their finally).</summary>
    private static void RemoveLeftovers()
    {
        var (_, listing) = Run("-S", "OUTPUT");
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = line.IndexOf(TagPrefix, StringComparison.Ordinal);
            if (!line.StartsWith("-A ", StringComparison.Ordinal) || at < 0) continue;
            var pid = new string(line[(at + TagPrefix.Length)..].TakeWhile(char.IsAsciiDigit).ToArray());
            if (int.TryParse(pid, out var id) && IsRunning(id)) continue;
            Run(["-D", .. line[3..].Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        }
    }

    private static bool IsRunning(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    private static void Check((int Code, string Output) result)
    {
        if (result.Code != 0) throw new InvalidOperationException("iptables failed: " + result.Output);
    }

    private static (int Code, string Output) Run(params string[] args)
    {
        var start = new ProcessStartInfo("iptables") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-w"); // wait for the xtables lock rather than fail beside another user of it
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }
}
