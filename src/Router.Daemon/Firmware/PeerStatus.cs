using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Router.Daemon.Firmware;

/// <summary>One peer as 'routerd show' prints it.</summary>
/// <param name="State">up, traffic, searching, idle, error or down (docs/LEDS.md's states).</param>
/// <param name="AllowedIps">The peer's allowed IPs, comma-separated as wg(8) prints them; empty for none.</param>
/// <param name="Keepalive">Persistent keepalive in seconds; 0 is off.</param>
/// <param name="DownReason">Why the peer is down and the likely cause, as the health log says it; null when it is not down.</param>
internal sealed record PeerStatus(string Interface, string Name, string PublicKey, string? Endpoint, DateTimeOffset? LastHandshake, long RxBytes, long TxBytes, string State,
    string AllowedIps = "", int Keepalive = 0, string? DownReason = null);

/// <summary>The gateway's own side of one interface: the public key peers must have for it, and its UDP port.</summary>
/// <param name="PublicKey">Base64; null when the interface has no private key (a drop-in before its first set).</param>
/// <param name="ListenPort">The bound UDP port; 0 when none.</param>
internal sealed record InterfaceInfo(string Name, string? PublicKey, int ListenPort);

/// <summary>
/// The show output in both forms: JSON through Utf8JsonWriter (no reflection: AOT-safe) and a table for people.
/// Besides the peers, each interface may carry its dropped packets by reason ("dropped": {"QueueFull": 12}).
/// </summary>
internal static class PeerStatusFormat
{
    /// <param name="configuration">Why the configuration file is not simply running (waiting, or refused while the
    /// previous one runs); null when it is.</param>
    /// <param name="interfaces">Each interface's own key and port; an interface listed here shows even with no peers.</param>
    /// <param name="apply">The latest 'routerd apply' (written as its own "apply" object; null: none since the daemon started).</param>
    public static byte[] Json(IReadOnlyList<PeerStatus> peers, DateTimeOffset now, IReadOnlyDictionary<string, IReadOnlyDictionary<string, long>>? drops = null,
        string? configuration = null, IReadOnlyList<InterfaceInfo>? interfaces = null, Apply.ApplyRecord? apply = null)
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
            foreach (var group in Groups(peers, interfaces))
            {
                w.WriteStartObject();
                w.WriteString("name", group.Key);
                var info = Info(interfaces, group.Key);
                if (info?.PublicKey is null)
                    w.WriteNull("publicKey");
                else
                    w.WriteString("publicKey", info.PublicKey);
                w.WriteNumber("listenPort", info?.ListenPort ?? 0);
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
                    if (p.DownReason is null)
                        w.WriteNull("downReason");
                    else
                        w.WriteString("downReason", p.DownReason);
                    w.WriteStartArray("allowedIps");
                    foreach (string ip in AllowedList(p.AllowedIps))
                        w.WriteStringValue(ip);
                    w.WriteEndArray();
                    w.WriteNumber("persistentKeepalive", p.Keepalive);
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
                // Fields after "state" are absent in older daemons' answers.
                string allowed = p.TryGetProperty("allowedIps", out var ips) && ips.ValueKind == JsonValueKind.Array
                    ? string.Join(", ", ips.EnumerateArray().Select(i => i.GetString()))
                    : "";
                int keepalive = p.TryGetProperty("persistentKeepalive", out var k) && k.ValueKind == JsonValueKind.Number ? k.GetInt32() : 0;
                string? reason = p.TryGetProperty("downReason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                list.Add(new PeerStatus(name, p.GetProperty("name").GetString()!, p.GetProperty("publicKey").GetString()!,
                    ep.ValueKind == JsonValueKind.String ? ep.GetString() : null,
                    hs.ValueKind == JsonValueKind.String ? DateTimeOffset.Parse(hs.GetString()!, CultureInfo.InvariantCulture) : null,
                    p.GetProperty("rxBytes").GetInt64(), p.GetProperty("txBytes").GetInt64(), p.GetProperty("state").GetString()!,
                    allowed, keepalive, reason));
            }
        }
        return list;
    }

    /// <summary>Each interface's own key and port of what <see cref="Json"/> wrote (absent in older daemons: none).</summary>
    public static List<InterfaceInfo> ParseInterfaces(ReadOnlySpan<byte> json)
    {
        var list = new List<InterfaceInfo>();
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        foreach (var iface in doc.RootElement.GetProperty("interfaces").EnumerateArray())
        {
            if (!iface.TryGetProperty("listenPort", out var port) || port.ValueKind != JsonValueKind.Number)
                continue;
            var key = iface.TryGetProperty("publicKey", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            list.Add(new InterfaceInfo(iface.GetProperty("name").GetString()!, key, port.GetInt32()));
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
        string? configuration = null, IReadOnlyList<InterfaceInfo>? interfaces = null, Apply.ApplyRecord? apply = null)
    {
        var s = new StringBuilder();
        if (configuration is not null)
            s.Append("configuration: ").Append(configuration).Append('\n');
        if (apply is not null)
            s.Append(apply.Text(now));
        foreach (var group in Groups(peers, interfaces))
        {
            s.Append("interface: ").Append(group.Key).Append('\n');
            if (Info(interfaces, group.Key) is { } info)
            {
                s.Append("  public key: ").Append(info.PublicKey ?? "(none)").Append('\n');
                s.Append("  listening port: ").Append(info.ListenPort == 0 ? "(none)" : info.ListenPort.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
            if (drops is not null && drops.TryGetValue(group.Key, out var reasons) && reasons.Count > 0)
                s.Append("  dropped: ").AppendJoin(", ", reasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}")).Append('\n');
            foreach (var p in group)
            {
                s.Append("  peer: ").Append(p.Name).Append(" (").Append(p.PublicKey).Append(")\n");
                s.Append("    state: ").Append(p.State);
                if (p.DownReason is not null)
                    s.Append(": ").Append(p.DownReason);
                s.Append('\n');
                s.Append("    endpoint: ").Append(p.Endpoint ?? "(none)").Append('\n');
                s.Append("    allowed ips: ").Append(p.AllowedIps.Length == 0 ? "(none)" : p.AllowedIps).Append('\n');
                if (p.Keepalive > 0)
                    s.Append("    persistent keepalive: every ").Append(p.Keepalive).Append(" s\n");
                s.Append("    last handshake: ").Append(p.LastHandshake is { } t ? Age(now - t) + " ago" : "never").Append('\n');
                s.Append("    transfer: ").Append(Bytes(p.RxBytes)).Append(" received, ").Append(Bytes(p.TxBytes)).Append(" sent\n");
            }
        }
        if (peers.Count == 0 && configuration is null && (interfaces is null || interfaces.Count == 0))
            s.Append("no interfaces\n");
        return s.ToString();
    }

    /// <summary>Peers by interface, in the order interfaces come; an interface without peers as an empty group.</summary>
    private static IEnumerable<IGrouping<string, PeerStatus>> Groups(IReadOnlyList<PeerStatus> peers, IReadOnlyList<InterfaceInfo>? interfaces)
    {
        var groups = peers.GroupBy(p => p.Interface).ToList();
        if (interfaces is not null)
        {
            foreach (var info in interfaces)
            {
                if (!groups.Any(g => g.Key == info.Name))
                    groups.Add(new EmptyGroup(info.Name));
            }
        }
        return groups;
    }

    private sealed class EmptyGroup(string key) : IGrouping<string, PeerStatus>
    {
        public string Key => key;
        public IEnumerator<PeerStatus> GetEnumerator() => Enumerable.Empty<PeerStatus>().GetEnumerator();
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private static InterfaceInfo? Info(IReadOnlyList<InterfaceInfo>? interfaces, string name) => interfaces?.FirstOrDefault(i => i.Name == name);

    private static IEnumerable<string> AllowedList(string allowed)
        => allowed.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

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
