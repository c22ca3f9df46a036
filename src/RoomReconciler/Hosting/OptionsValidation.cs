using Microsoft.Extensions.Options;

namespace RoomReconciler.Hosting;

/// <summary>Options that check themselves and name the configuration key of every problem.</summary>
public interface IKeyedOptions
{
    /// <summary>The configuration section the options are bound from, e.g. "Reconciler".</summary>
    static abstract string Section { get; }

    /// <summary>
    /// Whether the section belongs to the daemon alone, so that a key its properties do not name is a typo to refuse.
    /// ConnectionStrings is shared with other libraries and tools, and is not.
    /// </summary>
    static virtual bool ClosedSection => true;

    /// <summary>One message per problem, each starting with the full key ("Reconciler:GracePeriod ...").</summary>
    IEnumerable<string> Validate();
}

public sealed class KeyedOptionsValidator<T> : IValidateOptions<T> where T : class, IKeyedOptions
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var problems = options.Validate().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

public static class KeyedOptionsExtensions
{
    /// <summary>
    /// Binds T from its section, validating it now: a bad key stops the process before anything starts,
    /// with one line that names it, rather than as a stack trace from the host's start.
    /// </summary>
    public static IServiceCollection AddKeyedOptions<T>(this IServiceCollection services, IConfiguration configuration)
        where T : class, IKeyedOptions, new()
    {
        configuration.BindKeyedOptions<T>();
        services.AddOptions<T>().Bind(configuration.GetSection(T.Section));
        services.AddSingleton<IValidateOptions<T>, KeyedOptionsValidator<T>>();
        return services;
    }

    /// <summary>Binds and validates T immediately, for commands that run without a host.</summary>
    public static T BindKeyedOptions<T>(this IConfiguration configuration) where T : class, IKeyedOptions, new()
    {
        var options = new T();
        var section = configuration.GetSection(T.Section);
        section.Bind(options);
        var problems = (T.ClosedSection ? UnknownKeys<T>(section) : []).Concat(options.Validate()).ToList();
        if (problems.Count > 0) throw new OptionsValidationException(T.Section, typeof(T), problems);
        return options;
    }

    /// <summary>
    /// Keys of the section that no property of T binds: a misspelled key would otherwise be ignored and its
    /// default used. Built from the properties, so an option added to the class is known here at once.
    /// </summary>
    private static IEnumerable<string> UnknownKeys<T>(IConfigurationSection section)
    {
        var known = typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToList();
        return section.GetChildren()
            .Where(child => !known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            .Select(child => $"{child.Path} is not a configuration key (known in {section.Key}: {string.Join(", ", known)})");
    }

    public static IEnumerable<string> Positive(TimeSpan value, string key) =>
        value > TimeSpan.Zero ? [] : [$"{key} must be a positive duration such as 00:00:10 (got {value})"];

    public static IEnumerable<string> Required(string? value, string key) =>
        string.IsNullOrWhiteSpace(value) ? [$"{key} is required"] : [];
}
