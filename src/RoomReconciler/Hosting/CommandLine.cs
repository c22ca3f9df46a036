using System.Reflection;

namespace RoomReconciler.Hosting;

/// <summary>
/// What the command line may hold after the command: configuration keys, as --Key=value or --Key value.
/// ASP.NET Core's own command-line provider accepts any word, so a misspelled flag (--verbose, --Version) would
/// otherwise start the daemon with it silently ignored. A key names a section of the daemon (the options classes)
/// or one of the host's and libraries' own settings.
/// </summary>
public static class CommandLine
{
    /// <summary>Top-level keys and sections that belong to ASP.NET Core, Serilog and Npgsql rather than to an options class.</summary>
    private static readonly string[] HostKeys =
        ["Urls", "Environment", "AllowedHosts", "HTTP_PORTS", "HTTPS_PORTS", "ConnectionStrings", "Serilog", "Logging", "Kestrel"];

    /// <summary>Every section bound by an options class of the daemon, found by reflection so that new ones count.</summary>
    public static IReadOnlyList<string> DaemonSections { get; } = typeof(IKeyedOptions).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IKeyedOptions).IsAssignableFrom(t))
        .Select(t => (string)t.GetProperty(nameof(IKeyedOptions.Section), BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!)
        .ToList();

    /// <param name="takesWords">whether the command takes words (arguments that are not options), such as `sessions track ID`</param>
    /// <param name="options">the configuration options, for the host's configuration</param>
    /// <param name="words">the other arguments, in order</param>
    /// <param name="flags">--words that the command reads itself, passed on as words</param>
    /// <returns>null when every option is a known key with a value, else what is wrong in one line</returns>
    public static string? Problem(string[] args, bool takesWords, out string[] options, out IReadOnlyList<string> words, IReadOnlyCollection<string>? flags = null)
    {
        var (optionList, wordList) = (new List<string>(), new List<string>());
        (options, words) = ([], wordList);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (takesWords && (!arg.StartsWith('-') || flags?.Contains(arg) == true))
            {
                wordList.Add(arg);
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                return $"unexpected argument '{arg}': configuration is given as --Key=value";
            optionList.Add(arg);
            var equals = arg.IndexOf('=');
            var key = equals < 0 ? arg[2..] : arg[2..equals];
            if (equals < 0)
            {
                // --Key value: the value is the next argument, and must be there.
                if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    return $"unknown option '{arg}'";
                optionList.Add(args[++i]);
            }
            var section = key.Split(':', 2)[0];
            if (!DaemonSections.Concat(HostKeys).Contains(section, StringComparer.OrdinalIgnoreCase))
                return $"unknown option '--{key}'";
        }
        options = [.. optionList];
        return null;
    }
}
