using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Router.Daemon.Firmware;

/// <summary>One peer as 'routerd show' prints it.</summary>
/// <param name="State">up, traffic, searching, idle, error or down (docs/LEDS.md's states).</param>
internal sealed record PeerStatus(string Interface, string Name, string PublicKey, string? Endpoint, DateTimeOffset? LastHandshake, long RxBytes, long TxBytes, string State);

/// <summary>
/// The show output in both forms: JSON through Utf8JsonWriter (no reflection: AOT-safe) and a table for people.
/// Besides the peers, each interface may carry its dropped packets by reason ("dropped": {"QueueFull": 12}).
/// </summary>
internal static class PeerStatusFormat
{
    /// <param name="configuration">Why the configuration file is not simply running (waiting, or refused while the
    /// previous one runs); null when it is.</param>
    /// <param name="apply">The latest 'routerd apply' (written as its own "apply" object; null: none since the daemon started).</param>
    public static byte[] Json(IReadOnlyList<PeerStatus> peers, DateTimeOffset now, IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>>? drops = null,
        string? configuration = null, Apply.ApplyRecord? apply = null)
    {
        using var buffer = new MemoryStream();
        // Keys print as wg(8) prints them ("+" and "/" unescaped): the output feeds terminals and JSON parsers, never HTML.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (configuration is null)
                w.WriteNull("configuration");
            else
                w.WriteString("configuration", configuration);
            Apply.ApplyRecord.WriteJson(w, apply);
            w.WriteStartArray("interfaces");
            foreach (var group in peers.GroupBy(p => p.Interface))
            {
                w.WriteStartObject();
                w.WriteString("name", group.Key);
                w.WriteStartObject("dropped");
                if (drops is not null && drops.TryGetValue(group.Key, out var reasons))
                {
                    foreach (var (reason, count) in reasons.OrderBy(r => r.Key, StringComparer.Ordinal))
                        w.WriteNumber(reason, count);
                }
                w.WriteEndObject();
                w.WriteStartArray("peers");
                foreach (var p in group)
                {
                    w.WriteStartObject();
                    w.WriteString("name", p.Name);
                    w.WriteString("publicKey", p.PublicKey);
                    if (p.Endpoint is null)
                        w.WriteNull("endpoint");
                    else
                        w.WriteString("endpoint", p.Endpoint);
                    if (p.LastHandshake is { } t)
                    {
                        w.WriteString("lastHandshake", t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
                        w.WriteNumber("lastHandshakeAgeSeconds", Math.Max(0, (long)(now - t).TotalSeconds));
                    }
                    else
                    {
                        w.WriteNull("lastHandshake");
                        w.WriteNull("lastHandshakeAgeSeconds");
                    }
                    w.WriteNumber("rxBytes", p.RxBytes);
                    w.WriteNumber("txBytes", p.TxBytes);
                    w.WriteString("state", p.State);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>Reads what <see cref="Json"/> wrote (the daemon's status socket answer).</summary>
    public static List<PeerStatus> Parse(ReadOnlySpan<byte> json)
    {
        var list = new List<PeerStatus>();
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        foreach (var iface in doc.RootElement.GetProperty("interfaces").EnumerateArray())
        {
            string name = iface.GetProperty("name").GetString()!;
            foreach (var p in iface.GetProperty("peers").EnumerateArray())
            {
                var hs = p.GetProperty("lastHandshake");
                var ep = p.GetProperty("endpoint");
                list.Add(new PeerStatus(name, p.GetProperty("name").GetString()!, p.GetProperty("publicKey").GetString()!,
                    ep.ValueKind == JsonValueKind.String ? ep.GetString() : null,
                    hs.ValueKind == JsonValueKind.String ? DateTimeOffset.Parse(hs.GetString()!, CultureInfo.InvariantCulture) : null,
                    p.GetProperty("rxBytes").GetInt64(), p.GetProperty("txBytes").GetInt64(), p.GetProperty("state").GetString()!));
            }
        }
        return list;
    }

    /// <summary>The "configuration" note of what <see cref="Json"/> wrote (absent in older daemons: null).</summary>
    public static string? ParseConfiguration(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        return doc.RootElement.TryGetProperty("configuration", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
    }

    /// <summary>The interfaces' "dropped" objects of what <see cref="Json"/> wrote (absent in older daemons: none).</summary>
    public static Dictionary<string, IReadOnlyDictionary<string, long>> ParseDrops(ReadOnlySpan<byte> json)
    {
        var drops = new Dictionary<string, IReadOnlyDictionary<string, long>>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        foreach (var iface in doc.RootElement.GetProperty("interfaces").EnumerateArray())
        {
            if (!iface.TryGetProperty("dropped", out var dropped) || dropped.ValueKind != JsonValueKind.Object)
                continue;
            var reasons = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var r in dropped.EnumerateObject())
                reasons[r.Name] = r.Value.GetInt64();
            drops[iface.GetProperty("name").GetString()!] = reasons;
        }
        return drops;
    }

    public static string Text(IReadOnlyList<PeerStatus> peers, DateTimeOffset now, IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>>? drops = null,
        string? configuration = null, Apply.ApplyRecord? apply = null)
    {
        var s = new StringBuilder();
        if (configuration is not null)
            s.Append("configuration: ").Append(configuration).Append('\n');
        if (apply is not null)
            s.Append(apply.Text(now));
        foreach (var group in peers.GroupBy(p => p.Interface))
        {
            s.Append("interface: ").Append(group.Key).Append('\n');
            if (drops is not null && drops.TryGetValue(group.Key, out var reasons) && reasons.Count > 0)
                s.Append("  dropped: ").AppendJoin(", ", reasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}")).Append('\n');
            foreach (var p in group)
            {
                s.Append("  peer: ").Append(p.Name).Append(" (").Append(p.PublicKey).Append(")\n");
                s.Append("    state: ").Append(p.State).Append('\n');
                s.Append("    endpoint: ").Append(p.Endpoint ?? "(none)").Append('\n');
                s.Append("    last handshake: ").Append(p.LastHandshake is { } t ? Age(now - t) + " ago" : "never").Append('\n');
                s.Append("    transfer: ").Append(Bytes(p.RxBytes)).Append(" received, ").Append(Bytes(p.TxBytes)).Append(" sent\n");
            }
        }
        if (peers.Count == 0 && configuration is null)
            s.Append("no interfaces\n");
        return s.ToString();
    }

    private static string Age(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
            age = TimeSpan.Zero;
        if (age.TotalMinutes < 1)
            return $"{(int)age.TotalSeconds} s";
        if (age.TotalHours < 1)
            return $"{(int)age.TotalMinutes} min {age.Seconds} s";
        if (age.TotalDays < 1)
            return $"{(int)age.TotalHours} h {age.Minutes} min";
        return $"{(int)age.TotalDays} d {age.Hours} h";
    }

    private static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => (n / 1024.0).ToString("0.00", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (n / 1048576.0).ToString("0.00", CultureInfo.InvariantCulture) + " MiB",
        _ => (n / 1073741824.0).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };
}
