using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LiveKitSimulator;

/// <summary>The two protojson encodings LiveKit emits.</summary>
public enum ProtoJsonStyle
{
    /// <summary>Twirp responses (§1): proto (snake_case) names, every field present, unset messages null.</summary>
    Twirp,

    /// <summary>Webhook bodies (§4): lowerCamelCase names, zero values and unset messages omitted.</summary>
    Webhook,
}

/// <summary>
/// Writes message fields the way protojson does in either style, so one description of Room and ParticipantInfo
/// serves both encodings. int64 values go out as strings and enums as their proto names in both.
/// </summary>
public sealed class ProtoJsonWriter(Utf8JsonWriter json, ProtoJsonStyle style)
{
    private bool All => style == ProtoJsonStyle.Twirp;

    private string Name(string protoName) => All ? protoName : LowerCamel(protoName);

    public static string LowerCamel(string protoName)
    {
        var parts = protoName.Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }

    public void String(string name, string? value)
    {
        if (All || !string.IsNullOrEmpty(value)) json.WriteString(Name(name), value ?? "");
    }

    public void Int64(string name, long value)
    {
        if (All || value != 0) json.WriteString(Name(name), value.ToString(CultureInfo.InvariantCulture));
    }

    public void UInt32(string name, uint value)
    {
        if (All || value != 0) json.WriteNumber(Name(name), value);
    }

    public void Int32(string name, int value)
    {
        if (All || value != 0) json.WriteNumber(Name(name), value);
    }

    public void Bool(string name, bool value)
    {
        if (All || value) json.WriteBoolean(Name(name), value);
    }

    public void Enum<T>(string name, T value) where T : struct, Enum
    {
        if (All || Convert.ToInt32(value, CultureInfo.InvariantCulture) != 0) json.WriteString(Name(name), ProtoNames.Of(value));
    }

    public void Message(string name, Action<ProtoJsonWriter>? fields)
    {
        if (fields is null)
        {
            if (All) json.WriteNull(Name(name));
            return;
        }
        json.WritePropertyName(Name(name));
        Object(fields);
    }

    public void Object(Action<ProtoJsonWriter> fields)
    {
        json.WriteStartObject();
        fields(this);
        json.WriteEndObject();
    }

    public void List<T>(string name, IReadOnlyCollection<T> items, Action<ProtoJsonWriter, T> item)
    {
        if (!All && items.Count == 0) return;
        json.WritePropertyName(Name(name));
        json.WriteStartArray();
        foreach (var value in items) item(this, value);
        json.WriteEndArray();
    }

    public void Messages<T>(string name, IReadOnlyCollection<T> items, Action<ProtoJsonWriter, T> fields) =>
        List(name, items, (w, value) => w.Object(inner => fields(inner, value)));

    public void EnumValue<T>(T value) where T : struct, Enum => json.WriteStringValue(ProtoNames.Of(value));

    public void Map(string name, IReadOnlyDictionary<string, string> map)
    {
        if (!All && map.Count == 0) return;
        json.WritePropertyName(Name(name));
        json.WriteStartObject();
        foreach (var (key, value) in map) json.WriteString(key, value);
        json.WriteEndObject();
    }

    /// <summary>Escapes only what JSON requires, so messages read as written ("a \"b\"", not \u0022).</summary>
    public static readonly JsonSerializerOptions Plain = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs <paramref name="fields"/> on a fresh writer and returns the UTF-8 bytes of the object.</summary>
    public static byte[] Serialize(ProtoJsonStyle style, Action<ProtoJsonWriter> fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Plain.Encoder }))
        {
            new ProtoJsonWriter(json, style).Object(fields);
        }
        return buffer.ToArray();
    }
}

/// <summary>Room and ParticipantInfo field sets of §2.</summary>
public static class LiveKitMessages
{
    private static readonly string[] Codecs = ["audio/opus", "audio/red", "video/VP8", "video/H264", "video/VP9", "video/AV1"];
    private static readonly string[] PublishSources = [];

    public static void Room(ProtoJsonWriter w, Room room)
    {
        w.String("sid", room.Sid);
        w.String("name", room.Name);
        w.UInt32("empty_timeout", Seconds(room.EmptyTimeout));
        w.UInt32("departure_timeout", Seconds(room.DepartureTimeout));
        w.UInt32("max_participants", room.MaxParticipants);
        w.Int64("creation_time", room.CreatedAt.ToUnixTimeSeconds());
        w.Int64("creation_time_ms", room.CreatedAt.ToUnixTimeMilliseconds());
        w.String("turn_password", "");
        w.Messages("enabled_codecs", Codecs, (c, mime) =>
        {
            c.String("mime", mime);
            c.String("fmtp_line", "");
        });
        w.String("metadata", room.Metadata);
        w.UInt32("num_participants", room.NumParticipants);
        w.UInt32("num_publishers", room.NumPublishers);
        w.Bool("active_recording", false);
        w.Message("version", v =>
        {
            v.Int64("unix_micro", room.UpdatedAt.ToUnixTimeMilliseconds() * 1000);
            v.Int32("ticks", 0);
        });
    }

    public static void Participant(ProtoJsonWriter w, Participant p)
    {
        w.String("sid", p.Sid);
        w.String("identity", p.Identity);
        w.Enum("state", p.State);
        w.List("tracks", Array.Empty<object>(), (_, _) => { });
        w.String("metadata", p.Metadata);
        w.Int64("joined_at", p.JoinedAt.ToUnixTimeSeconds());
        w.Int64("joined_at_ms", p.JoinedAt.ToUnixTimeMilliseconds());
        w.String("name", p.Name);
        w.UInt32("version", p.Version);
        w.Message("permission", perm =>
        {
            perm.Bool("can_subscribe", true);
            perm.Bool("can_publish", true);
            perm.Bool("can_publish_data", true);
            perm.List("can_publish_sources", PublishSources, (_, _) => { });
            perm.Bool("hidden", p.Hidden);
            perm.Bool("recorder", p.LegacyRecorder);
            perm.Bool("can_update_metadata", false);
            perm.Bool("agent", p.LegacyAgent);
            perm.Bool("can_subscribe_metrics", false);
            perm.Bool("can_manage_agent_session", false);
        });
        w.String("region", "");
        w.Bool("is_publisher", p.IsPublisher);
        w.Enum("kind", p.Kind);
        w.Map("attributes", p.Attributes);
        w.Enum("disconnect_reason", p.DisconnectReason);
        w.List("kind_details", p.KindDetails, (k, detail) => k.EnumValue(detail));
        w.List("data_tracks", Array.Empty<object>(), (_, _) => { });
        w.Int32("client_protocol", 0);
        w.List("capabilities", Array.Empty<object>(), (_, _) => { });
    }

    private static uint Seconds(TimeSpan t) => (uint)Math.Max(0, Math.Round(t.TotalSeconds));
}
