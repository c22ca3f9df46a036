using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace RoomReconciler.LiveKit;

/// <summary>
/// The JSON dialect of LiveKit's protojson (docs/livekit.md §1, §4). Twirp responses use proto names
/// (snake_case) with every field present; webhooks use lowerCamelCase with zero values omitted; int64 values
/// arrive as strings; enums as names, or as numbers when the encoder does not know them. One set of DTOs
/// reads both: each multi-word property also answers to its snake_case name.
/// </summary>
public static class LiveKitJson
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        // Web defaults: camelCase names, case-insensitive matching, numbers readable from strings.
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            Converters = { new LenientEnumConverterFactory() },
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { AddSnakeCaseAliases } },
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        };
        options.MakeReadOnly();
        return options;
    }

    /// <summary>
    /// For every settable multi-word property of a LiveKit DTO ("joinedAtMs"), a write-only twin named in
    /// snake_case ("joined_at_ms") that sets the same property. The twin has no getter, so output stays camelCase.
    /// </summary>
    private static void AddSnakeCaseAliases(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object || info.Type.Namespace != typeof(LiveKitJson).Namespace) return;
        foreach (var property in info.Properties.ToList())
        {
            var snake = JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);
            if (property.Set is null || snake == property.Name) continue;
            var alias = info.CreateJsonPropertyInfo(property.PropertyType, snake);
            alias.Set = property.Set;
            info.Properties.Add(alias);
        }
    }
}

/// <summary>
/// Enums as protojson writes them: the proto name ("CLIENT_INITIATED"), or a number for a value the server's
/// encoder did not know. Reading never throws: an unknown name becomes the enum's <c>Unrecognized</c> member,
/// an unknown number keeps its value, and null is the zero value (as protojson reads it).
/// </summary>
internal sealed class LenientEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(LenientEnumConverter<>).MakeGenericType(typeToConvert))!;
}

internal sealed class LenientEnumConverter<T> : JsonConverter<T> where T : struct, Enum
{
    private static readonly Dictionary<string, T> ByName = Enum.GetValues<T>()
        .ToDictionary(ProtoName, StringComparer.OrdinalIgnoreCase);

    private static readonly T Fallback = Enum.TryParse<T>("Unrecognized", out var unrecognized) ? unrecognized : default;

    public override bool HandleNull => true;

    /// <summary>PascalCase member to proto enum name: ClientInitiated → CLIENT_INITIATED.</summary>
    private static string ProtoName(T value) => JsonNamingPolicy.SnakeCaseUpper.ConvertName(value.ToString());

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return ByName.GetValueOrDefault(reader.GetString()!, Fallback);
            case JsonTokenType.Number:
                return reader.TryGetInt32(out var number) ? (T)Enum.ToObject(typeof(T), number) : Fallback;
            case JsonTokenType.Null:
                return default;
            default:
                reader.Skip();
                return Fallback;
        }
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        if (Enum.IsDefined(value)) writer.WriteStringValue(ProtoName(value));
        else writer.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
    }
}
