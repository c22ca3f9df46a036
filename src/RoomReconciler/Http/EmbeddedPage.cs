using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http.HttpResults;

namespace RoomReconciler.Http;

/// <summary>The pages and scripts built into the assembly (EmbeddedResource items in RoomReconciler.csproj), read once.</summary>
public static class EmbeddedPage
{
    private static readonly ConcurrentDictionary<string, string> Texts = new(StringComparer.Ordinal);

    public static string Text(string logicalName) => Texts.GetOrAdd(logicalName, name =>
    {
        using var stream = typeof(EmbeddedPage).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>A page or script; revalidated on every load, so that a new build is never hidden behind a cached old one.</summary>
    public static ContentHttpResult Serve(HttpResponse response, string logicalName, string contentType)
    {
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        return TypedResults.Content(Text(logicalName), contentType);
    }
}
