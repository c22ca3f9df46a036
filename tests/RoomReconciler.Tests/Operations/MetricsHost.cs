using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using RoomReconciler.Hosting;

namespace RoomReconciler.Tests.Operations;

/// <summary>
/// A daemon host built, not started (no database, no LiveKit): its services and the very registry its /metrics serves.
/// </summary>
public sealed partial class MetricsHost : IAsyncDisposable
{
    private MetricsHost(WebApplication app) => App = app;

    public WebApplication App { get; }

    public static MetricsHost Build() => new(DaemonHost.Build([
        "--ConnectionStrings:Postgres=Host=127.0.0.1;Port=9;Database=clocks",
        "--LiveKit:Url=http://127.0.0.1:9", "--LiveKit:ApiKey=key", "--LiveKit:ApiSecret=secret-of-at-least-32-characters-long",
        "--Serilog:MinimumLevel:Default=Warning"]));

    public T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>What GET /metrics answers, in Prometheus text.</summary>
    public async Task<string> ScrapeAsync()
    {
        using var text = new MemoryStream();
        await Get<MetricsExport>().Registry.CollectAndExportAsTextAsync(text);
        return System.Text.Encoding.UTF8.GetString(text.ToArray());
    }

    /// <summary>The families declared in a scrape, by name, with their type.</summary>
    public static IReadOnlyDictionary<string, string> Families(string scrape) =>
        TypeLine().Matches(scrape).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);

    public ValueTask DisposeAsync() => App.DisposeAsync();

    [GeneratedRegex(@"(?m)^# TYPE (\S+) (\S+)$")]
    private static partial Regex TypeLine();
}
