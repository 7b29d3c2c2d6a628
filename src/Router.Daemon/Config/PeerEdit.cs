using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Router.Daemon.Config;

/// <summary>The fields of a peer that 'routerd peer add' writes; null fields are left out of the JSON.</summary>
internal sealed record NewPeer(string Name, string PublicKey, IReadOnlyList<string> AllowedIps, string? Endpoint, int? PersistentKeepalive, string? PresharedKeyFile);

/// <summary>The result of an edit: the new file's bytes and the JSON path of the peer it touched, or what is wrong.</summary>
internal sealed record PeerEditResult(byte[]? Json, string Path, string? Error)
{
    public bool Ok => Json is not null;
}

/// <summary>
/// Adds a peer to, or removes one from, router.json as text: the bytes around the edit stay exactly as the admin wrote
/// them (comments, order, indentation), which re-serialising the file would lose. Only locates and splices; whether
/// the result is a valid configuration is <see cref="ConfigLoader.Parse"/>'s call, made by the caller on the result.
/// The file is read with the same leniency as the configuration provider (comments, trailing commas).
/// </summary>
internal static class PeerEdit
{
    private static readonly JsonReaderOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    // Keys are base64 ('+', '/', '='): the default encoder would write '+' as \u002B, correct but unreadable.
    private static readonly JavaScriptEncoder Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    public static PeerEditResult Add(byte[] json, string? interfaceName, NewPeer peer)
    {
        if (!TryScan(json, out var interfaces, out _, out string? error))
            return new(null, "", error);
        if (interfaces.Count == 0)
            return new(null, "interfaces", "the file has no interface to add a peer to");
        InterfaceSpan? target;
        if (interfaceName is null)
        {
            if (interfaces.Count > 1)
                return new(null, "interfaces", $"the file has {interfaces.Count} interfaces ({string.Join(", ", interfaces.Select(i => i.Name))}); say which with --interface");
            target = interfaces[0];
        }
        else
        {
            target = interfaces.FirstOrDefault(i => i.Name == interfaceName);
            if (target is null)
                return new(null, $"interfaces.{interfaceName}", $"no such interface; the file has {string.Join(", ", interfaces.Select(i => i.Name))}");
        }

        string path = $"interfaces.{target.Name}.peers[{target.Peers.Count}]";
        string text = Render(peer);
        string insert;
        int at;
        if (target.PeersArrayStart >= 0 && target.Peers.Count > 0)
        {
            // After the last peer, on a line of its own at that peer's indentation.
            var last = target.Peers[^1];
            at = last.End;
            insert = ",\n" + IndentAt(json, last.Start, IndentAt(json, target.PeersKeyStart, "") + "  ") + text;
        }
        else if (target.PeersArrayStart >= 0)
        {
            string keyIndent = IndentAt(json, target.PeersKeyStart, "");
            at = target.PeersArrayStart + 1;
            insert = "\n" + keyIndent + "  " + text + "\n" + keyIndent;
        }
        else
        {
            // No "peers" yet: a new member after the interface's last one (or as its first).
            string memberIndent = target.LastMemberNameStart >= 0
                ? IndentAt(json, target.LastMemberNameStart, "      ")
                : IndentAt(json, target.ObjectStart, "") + "  ";
            at = target.LastMemberEnd >= 0 ? target.LastMemberEnd : target.ObjectStart + 1;
            insert = (target.LastMemberEnd >= 0 ? "," : "") + "\n" + memberIndent + "\"peers\": [\n" + memberIndent + "  " + text + "\n" + memberIndent + "]"
                     + (target.LastMemberEnd >= 0 ? "" : "\n" + IndentAt(json, target.ObjectStart, ""));
        }
        return new(Splice(json, at, at, Encoding.UTF8.GetBytes(insert)), path, null);
    }

    /// <summary>Removes the peer named <paramref name="name"/> and its LED (leds.peers.NAME), which would otherwise name no peer.</summary>
    public static PeerEditResult Remove(byte[] json, string name, out bool ledRemoved)
    {
        ledRemoved = false;
        if (!TryScan(json, out var interfaces, out var leds, out string? error))
            return new(null, "", error);
        foreach (var iface in interfaces)
        {
            int i = iface.Peers.FindIndex(p => p.Name == name);
            if (i < 0)
                continue;
            var cuts = new List<(int From, int To)> { Cut(iface.Peers, i, iface.PeersArrayStart, iface.PeersArrayEnd) };
            int led = leds.Members.FindIndex(m => m.Name == name);
            if (led >= 0)
            {
                cuts.Add(Cut(leds.Members, led, leds.ObjectStart, leds.ObjectEnd));
                ledRemoved = true;
            }
            // The later cut first, so the earlier one's offsets still hold.
            byte[] result = json;
            foreach (var (from, to) in cuts.OrderByDescending(c => c.From))
                result = Splice(result, from, to, []);
            return new(result, $"interfaces.{iface.Name}.peers[{i}]", null);
        }
        string known = string.Join(", ", interfaces.SelectMany(i => i.Peers).Select(p => p.Name ?? "(unnamed)"));
        return new(null, "interfaces.*.peers", $"no peer is named '{name}'; the file has: {(known.Length == 0 ? "no peers" : known)}");
    }

    /// <summary>The bytes that remove element <paramref name="i"/> with one neighbouring comma, so the rest keeps its layout.</summary>
    private static (int From, int To) Cut(List<PeerSpan> items, int i, int open, int close)
    {
        if (items.Count == 1)
            return (open + 1, close);
        if (i < items.Count - 1)
            return (items[i].Start, items[i + 1].Start);
        return (items[i - 1].End, items[i].End);
    }

    /// <summary>One line: <c>{ "name": "x", "publicKey": "...", ... }</c>, fields in the order docs/CONFIG.md lists them.</summary>
    private static string Render(NewPeer p)
    {
        var sb = new StringBuilder("{ ");
        sb.Append("\"name\": ").Append(Quote(p.Name));
        sb.Append(", \"publicKey\": ").Append(Quote(p.PublicKey));
        if (p.PresharedKeyFile is not null)
            sb.Append(", \"presharedKeyFile\": ").Append(Quote(p.PresharedKeyFile));
        if (p.Endpoint is not null)
            sb.Append(", \"endpoint\": ").Append(Quote(p.Endpoint));
        sb.Append(", \"allowedIps\": [").Append(string.Join(", ", p.AllowedIps.Select(Quote))).Append(']');
        if (p.PersistentKeepalive is int keepalive)
            sb.Append(", \"persistentKeepalive\": ").Append(keepalive.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return sb.Append(" }").ToString();
    }

    private static string Quote(string value) => "\"" + Encoder.Encode(value) + "\"";

    private static byte[] Splice(byte[] json, int from, int to, byte[] insert)
        => [.. json.AsSpan(0, from), .. insert, .. json.AsSpan(to)];

    /// <summary>The whitespace before <paramref name="offset"/> on its line, if nothing else precedes it there.</summary>
    private static string IndentAt(byte[] json, int offset, string fallback)
    {
        int lineStart = offset;
        while (lineStart > 0 && json[lineStart - 1] != '\n')
            lineStart--;
        for (int i = lineStart; i < offset; i++)
        {
            if (json[i] is not ((byte)' ' or (byte)'\t'))
                return fallback;
        }
        return Encoding.ASCII.GetString(json, lineStart, offset - lineStart);
    }

    /// <summary>Where one interface object, its "peers" array and each peer object sit in the file (byte offsets).</summary>
    private sealed class InterfaceSpan(string name, int objectStart)
    {
        public string Name { get; } = name;
        public int ObjectStart { get; } = objectStart;
        public int LastMemberNameStart { get; set; } = -1;
        public int LastMemberEnd { get; set; } = -1;
        public int PeersKeyStart { get; set; } = -1;
        public int PeersArrayStart { get; set; } = -1;
        public int PeersArrayEnd { get; set; } = -1;
        public List<PeerSpan> Peers { get; } = [];
    }

    /// <summary>The "leds"."peers" object: its braces and each member (a peer name and its LED), if the file has one.</summary>
    private sealed class LedSpan
    {
        public int ObjectStart { get; set; } = -1;
        public int ObjectEnd { get; set; } = -1;
        public List<PeerSpan> Members { get; } = [];
    }

    /// <summary>
    /// One element of "peers" ([Start, End) covers its braces; Name is its "name" string, if it has one), or one
    /// member of leds.peers (from its name's quote to the end of its value).
    /// </summary>
    private readonly record struct PeerSpan(int Start, int End, string? Name);

    private static bool TryScan(byte[] json, out List<InterfaceSpan> interfaces, out LedSpan leds, out string? error)
    {
        interfaces = [];
        leds = new LedSpan();
        error = null;
        var reader = new Utf8JsonReader(json, Lenient);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "the file is not a JSON object";
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isInterfaces = reader.ValueTextEquals("interfaces"u8);
                bool isLeds = reader.ValueTextEquals("leds"u8);
                reader.Read();
                if (isInterfaces && reader.TokenType == JsonTokenType.StartObject)
                    ScanInterfaces(ref reader, interfaces);
                else if (isLeds && reader.TokenType == JsonTokenType.StartObject)
                    ScanLeds(ref reader, leds);
                else
                    reader.Skip();
            }
        }
        catch (JsonException e)
        {
            error = $"not valid JSON: {e.Message}";
            return false;
        }
        return true;
    }

    private static void ScanInterfaces(ref Utf8JsonReader reader, List<InterfaceSpan> interfaces)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string name = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            var iface = new InterfaceSpan(name, (int)reader.TokenStartIndex);
            interfaces.Add(iface);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int nameStart = (int)reader.TokenStartIndex;
                bool isPeers = reader.ValueTextEquals("peers"u8);
                reader.Read();
                if (isPeers && reader.TokenType == JsonTokenType.StartArray)
                {
                    iface.PeersKeyStart = nameStart;
                    iface.PeersArrayStart = (int)reader.TokenStartIndex;
                    ScanPeers(ref reader, iface.Peers);
                    iface.PeersArrayEnd = (int)reader.TokenStartIndex;
                }
                else
                {
                    reader.Skip();
                }
                iface.LastMemberNameStart = nameStart;
                iface.LastMemberEnd = (int)reader.BytesConsumed;
            }
        }
    }

    private static void ScanLeds(ref Utf8JsonReader reader, LedSpan leds)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isPeers = reader.ValueTextEquals("peers"u8);
            reader.Read();
            if (!isPeers || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            leds.ObjectStart = (int)reader.TokenStartIndex;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int start = (int)reader.TokenStartIndex;
                string name = reader.GetString()!;
                reader.Read();
                reader.Skip();
                leds.Members.Add(new PeerSpan(start, (int)reader.BytesConsumed, name));
            }
            leds.ObjectEnd = (int)reader.TokenStartIndex;
        }
    }

    // Leaves the reader on the array's EndArray.
    private static void ScanPeers(ref Utf8JsonReader reader, List<PeerSpan> peers)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            int start = (int)reader.TokenStartIndex;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                peers.Add(new PeerSpan(start, (int)reader.BytesConsumed, null));
                continue;
            }
            string? name = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isName = reader.ValueTextEquals("name"u8);
                reader.Read();
                if (isName && reader.TokenType == JsonTokenType.String)
                    name = reader.GetString();
                else
                    reader.Skip();
            }
            peers.Add(new PeerSpan(start, (int)reader.BytesConsumed, name));
        }
    }
}
