using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace RoomReconciler.Tests.Operations;

/// <summary>The repository's deployment files, read as an operator's tools would read them.</summary>
public static class Manifests
{
    public static string Repository { get; } = FindRepository();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Repository, .. parts]);

    /// <summary>Every YAML document in the folder (anchors resolved), as JSON, with the file it came from.</summary>
    public static IReadOnlyList<(string File, JsonObject Doc)> Documents(string folder) =>
        Directory.GetFiles(Path(folder), "*.yaml").Order().SelectMany(file => Parse(File.ReadAllText(file)).Select(d => (System.IO.Path.GetFileName(file), d))).ToList();

    public static IReadOnlyList<JsonObject> Parse(string yaml)
    {
        var parser = new YamlDotNet.Core.Parser(new StringReader(yaml));
        var deserializer = new DeserializerBuilder().Build();
        var json = new SerializerBuilder().JsonCompatible().Build();
        var documents = new List<JsonObject>();
        parser.Consume<YamlDotNet.Core.Events.StreamStart>();
        while (parser.Accept<YamlDotNet.Core.Events.DocumentStart>(out _))
        {
            var doc = deserializer.Deserialize<object>(parser);
            if (doc is not null) documents.Add(JsonNode.Parse(json.Serialize(doc))!.AsObject());
        }
        return documents;
    }

    /// <summary>The pod spec of a workload (Deployment, Job, ...), or null for objects that run no pods.</summary>
    public static JsonObject? PodSpec(JsonObject doc) => doc["spec"]?["template"]?["spec"]?.AsObject()
        ?? doc["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"]?.AsObject()
        ?? ((string?)doc["kind"] == "Pod" ? doc["spec"]?.AsObject() : null);

    private static string FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "RoomReconciler.sln"))) return dir.FullName;
        throw new InvalidOperationException("the repository root (RoomReconciler.sln) is not above " + AppContext.BaseDirectory);
    }
}
