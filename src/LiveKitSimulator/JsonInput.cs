using System.Globalization;
using System.Text.Json;

namespace LiveKitSimulator;

/// <summary>A request body the simulator cannot use; the message is safe to show to the caller.</summary>
public sealed class BadInputException(string message) : Exception(message);

/// <summary>
/// Reads request fields as protojson does: proto name or lowerCamelCase name, int64 as string or number,
/// unknown fields ignored (§1).
/// </summary>
public readonly struct JsonInput
{
    private readonly JsonElement root;

    private JsonInput(JsonElement root) => this.root = root;

    public static JsonInput Parse(ReadOnlySpan<byte> body)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new BadInputException($"the body is not JSON: {e.Message}");
        }
        if (root.ValueKind != JsonValueKind.Object) throw new BadInputException("the body must be a JSON object");
        return new JsonInput(root);
    }

    private bool TryGet(string protoName, out JsonElement value)
    {
        if (root.TryGetProperty(protoName, out value) || root.TryGetProperty(ProtoJsonWriter.LowerCamel(protoName), out value))
            return value.ValueKind != JsonValueKind.Null;
        return false;
    }

    public string? String(string protoName)
    {
        if (!TryGet(protoName, out var value)) return null;
        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Wrong(protoName, "a string");
    }

    public string RequiredString(string protoName) =>
        String(protoName) is { Length: > 0 } text ? text : throw new BadInputException($"'{protoName}' is required");

    public bool? Bool(string protoName)
    {
        if (!TryGet(protoName, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(protoName, "true or false"),
        };
    }

    /// <summary>A number, or a string holding one (protojson accepts both for every numeric type).</summary>
    public double? Number(string protoName)
    {
        if (!TryGet(protoName, out var value)) return null;
        if (value.ValueKind == JsonValueKind.Number) return value.GetDouble();
        if (value.ValueKind == JsonValueKind.String
            && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)) return parsed;
        throw Wrong(protoName, "a number");
    }

    public uint? UInt32(string protoName) =>
        Number(protoName) is { } n ? n is >= 0 and <= uint.MaxValue && n == Math.Floor(n) ? (uint)n : throw Wrong(protoName, "a non-negative integer") : null;

    public TimeSpan? Seconds(string protoName) =>
        Number(protoName) is { } n ? n is >= 0 and <= 1e7 ? TimeSpan.FromSeconds(n) : throw Wrong(protoName, "seconds between 0 and 10000000") : null;

    public T? Enum<T>(string protoName) where T : struct, System.Enum
    {
        if (!TryGet(protoName, out var value)) return null;
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        return ProtoNames.TryParse<T>(text, out var parsed)
            ? parsed
            : throw new BadInputException($"'{protoName}' must be one of {string.Join(", ", System.Enum.GetValues<T>().Select(ProtoNames.Of))}");
    }

    public IReadOnlyList<string> Strings(string protoName)
    {
        if (!TryGet(protoName, out var value)) return [];
        if (value.ValueKind != JsonValueKind.Array) throw Wrong(protoName, "a list of strings");
        return value.EnumerateArray()
            .Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Wrong(protoName, "a list of strings"))
            .ToList();
    }

    public IReadOnlyDictionary<string, string>? StringMap(string protoName)
    {
        if (!TryGet(protoName, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Object) throw Wrong(protoName, "an object of strings");
        return value.EnumerateObject().ToDictionary(
            p => p.Name,
            p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw Wrong(protoName, "an object of strings"));
    }

    private static BadInputException Wrong(string protoName, string expected) => new($"'{protoName}' must be {expected}");
}
