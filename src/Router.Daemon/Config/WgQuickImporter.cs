using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Router.Daemon.Config;

/// <summary>A key found in a wg-quick file, to be written to its own 0600 file.</summary>
internal sealed record ImportedKey(string Path, SecretKey Key);

/// <summary>The JSON that replaces a wg-quick file, the key files it names, and what the conversion noticed.</summary>
internal sealed record WgQuickImport(byte[] Json, IReadOnlyList<ImportedKey> Keys, IReadOnlyList<ConfigProblem> Problems) : IDisposable
{
    public bool HasErrors => Problems.Any(p => p.IsError);

    public void Dispose()
    {
        foreach (var k in Keys)
            k.Key.Dispose();
    }
}

/// <summary>
/// Converts a wg-quick(8) configuration (INI: one [Interface], any number of [Peer]; case-insensitive keys; '#'
/// starts a comment) into router.json. Private and pre-shared keys go to files beside the output (IFNAME.key,
/// IFNAME-PEER.psk) and the JSON names them. The file is parsed as bytes so the keys never become strings.
/// wg-quick's DNS, Table, SaveConfig and the Pre/Post Up/Down hooks have no equivalent here and are reported.
/// A peer is named by a "# Name = ..." comment inside its section, else peer1, peer2, ...
/// </summary>
internal static class WgQuickImporter
{
    private static readonly string[] IgnoredInterfaceKeys = ["dns", "table", "saveconfig", "preup", "postup", "predown", "postdown"];

    private sealed class PeerDraft
    {
        public int Line;
        public string? Name;
        public string? PublicKey;
        public string? PresharedKeyFile;
        public string? Endpoint;
        public List<string> AllowedIps = [];
        public int? PersistentKeepalive;
    }

    public static WgQuickImport Convert(ReadOnlySpan<byte> conf, string interfaceName, string keyDirectory, string sourceName = "wg-quick file")
    {
        var problems = new List<ConfigProblem>();
        var keys = new List<ImportedKey>();
        string? privateKeyFile = null;
        int? listenPort = null, mtu = null;
        long fwmark = 0;
        var addresses = new List<string>();
        var peers = new List<PeerDraft>();
        string section = "";
        int interfaceSections = 0;
        keyDirectory = Path.GetFullPath(keyDirectory);

        int lineNumber = 0;
        while (!conf.IsEmpty)
        {
            lineNumber++;
            int end = conf.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = end < 0 ? conf : conf[..end];
            conf = end < 0 ? default : conf[(end + 1)..];
            string where = $"{sourceName}:{lineNumber}";

            int hash = line.IndexOf((byte)'#');
            if (hash >= 0)
            {
                if (section == "peer" && TryNameComment(line[(hash + 1)..], out string? name))
                    peers[^1].Name = name;
                line = line[..hash];
            }
            line = line.Trim(" \t\r"u8);
            if (line.IsEmpty)
                continue;

            if (line[0] == (byte)'[')
            {
                string header = Encoding.UTF8.GetString(line).ToLowerInvariant();
                if (header == "[interface]")
                {
                    section = "interface";
                    if (++interfaceSections > 1)
                        problems.Add(ConfigProblem.Error(where, "a second [Interface] section; expected exactly one"));
                }
                else if (header == "[peer]")
                {
                    section = "peer";
                    peers.Add(new PeerDraft { Line = lineNumber });
                }
                else
                {
                    section = "unknown";
                    problems.Add(ConfigProblem.Error(where, $"unknown section {Encoding.UTF8.GetString(line)}; expected [Interface] or [Peer]"));
                }
                continue;
            }

            int eq = line.IndexOf((byte)'=');
            if (eq <= 0)
            {
                problems.Add(ConfigProblem.Error(where, "expected Key = Value"));
                continue;
            }
            string key = Encoding.ASCII.GetString(line[..eq].Trim(" \t"u8)).ToLowerInvariant();
            ReadOnlySpan<byte> value = line[(eq + 1)..].Trim(" \t"u8);

            if (section == "interface")
            {
                switch (key)
                {
                    case "privatekey":
                        privateKeyFile = Path.Combine(keyDirectory, $"{interfaceName}.key");
                        AddKey(where, "PrivateKey", value, privateKeyFile, keys, problems);
                        break;
                    case "listenport":
                        listenPort = Number(where, "ListenPort", value, 0, 65535, problems, offWord: false);
                        break;
                    case "fwmark":
                        fwmark = FwMark(where, value, problems);
                        break;
                    case "address":
                        addresses.AddRange(List(value));
                        break;
                    case "mtu":
                        mtu = Number(where, "MTU", value, 576, 65535, problems, offWord: false);
                        break;
                    default:
                        problems.Add(ConfigProblem.Warning(where, IgnoredInterfaceKeys.Contains(key)
                            ? $"{Encoding.ASCII.GetString(line[..eq].Trim(" \t"u8))} is a wg-quick feature routerd does not have; ignored (routes, forwarding and NAT come from router.json)"
                            : $"unknown key '{Encoding.ASCII.GetString(line[..eq].Trim(" \t"u8))}' in [Interface]; ignored"));
                        break;
                }
            }
            else if (section == "peer")
            {
                var peer = peers[^1];
                switch (key)
                {
                    case "publickey":
                        peer.PublicKey = Encoding.ASCII.GetString(value);
                        break;
                    case "presharedkey":
                        peer.PresharedKeyFile = "";
                        // The file name needs the peer's name, which a later "# Name" comment may still set.
                        AddKey(where, "PresharedKey", value, $"\0psk{peers.Count - 1}", keys, problems);
                        break;
                    case "endpoint":
                        peer.Endpoint = Encoding.UTF8.GetString(value);
                        break;
                    case "allowedips":
                        peer.AllowedIps.AddRange(List(value));
                        break;
                    case "persistentkeepalive":
                        peer.PersistentKeepalive = Number(where, "PersistentKeepalive", value, 0, 65535, problems, offWord: true);
                        break;
                    default:
                        problems.Add(ConfigProblem.Warning(where, $"unknown key '{Encoding.ASCII.GetString(line[..eq].Trim(" \t"u8))}' in [Peer]; ignored"));
                        break;
                }
            }
            else if (section == "")
            {
                problems.Add(ConfigProblem.Error(where, "a key outside any section; expected [Interface] or [Peer] first"));
            }
        }

        if (interfaceSections == 0)
            problems.Add(ConfigProblem.Error(sourceName, "no [Interface] section"));
        else if (privateKeyFile is null)
            problems.Add(ConfigProblem.Error(sourceName, "[Interface] has no PrivateKey"));

        // Names: from comments, else numbered; then the pre-shared key files that depend on them.
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < peers.Count; i++)
        {
            string name = peers[i].Name is string n && ConfigValidator.IsPeerName(n) && used.Add(n) ? n : Unique($"peer{i + 1}", used);
            peers[i].Name = name;
            int pskIndex = keys.FindIndex(k => k.Path == $"\0psk{i}");
            if (pskIndex >= 0)
            {
                string file = Path.Combine(keyDirectory, $"{interfaceName}-{name}.psk");
                keys[pskIndex] = keys[pskIndex] with { Path = file };
                peers[i].PresharedKeyFile = file;
            }
        }

        byte[] json = WriteJson(interfaceName, privateKeyFile, listenPort, fwmark, addresses, mtu, peers);
        return new WgQuickImport(json, keys, problems);
    }

    private static void AddKey(string where, string field, ReadOnlySpan<byte> value, string path, List<ImportedKey> keys, List<ConfigProblem> problems)
    {
        Span<byte> key = stackalloc byte[SecretKey.Size];
        if (KeyText.TryDecodeUtf8(value, key))
            keys.Add(new ImportedKey(path, new SecretKey(key)));
        else
            problems.Add(ConfigProblem.Error(where, $"{field} is not a key; expected 44 characters of base64 (32 bytes)"));
        CryptographicOperations.ZeroMemory(key);
    }

    private static bool TryNameComment(ReadOnlySpan<byte> comment, out string? name)
    {
        name = null;
        string text = Encoding.UTF8.GetString(comment).Trim();
        int eq = text.IndexOf('=');
        if (eq < 0 || !text[..eq].Trim().Equals("name", StringComparison.OrdinalIgnoreCase))
            return false;
        name = text[(eq + 1)..].Trim();
        return name.Length > 0;
    }

    private static string Unique(string name, HashSet<string> used)
    {
        string candidate = name;
        for (int i = 2; !used.Add(candidate); i++)
            candidate = $"{name}-{i}";
        return candidate;
    }

    private static IEnumerable<string> List(ReadOnlySpan<byte> value)
        => Encoding.UTF8.GetString(value).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static int? Number(string where, string field, ReadOnlySpan<byte> value, int min, int max, List<ConfigProblem> problems, bool offWord)
    {
        string text = Encoding.ASCII.GetString(value);
        if (offWord && text.Equals("off", StringComparison.OrdinalIgnoreCase))
            return 0;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max)
            return n;
        problems.Add(ConfigProblem.Error(where, $"{field} '{text}' is not a number from {min} to {max}"));
        return null;
    }

    private static long FwMark(string where, ReadOnlySpan<byte> value, List<ConfigProblem> problems)
    {
        string text = Encoding.ASCII.GetString(value);
        if (text.Equals("off", StringComparison.OrdinalIgnoreCase))
            return 0;
        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? uint.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint mark)
            : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out mark);
        if (!ok)
            problems.Add(ConfigProblem.Error(where, $"FwMark '{text}' is not a 32-bit number (decimal or 0x hex) or 'off'"));
        return mark;
    }

    // The relaxed encoder leaves '+' in base64 keys readable; the output is a file for people, never embedded in HTML.
    private static byte[] WriteJson(string interfaceName, string? privateKeyFile, int? listenPort, long fwmark, List<string> addresses, int? mtu, List<PeerDraft> peers)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartObject("interfaces");
            w.WriteStartObject(interfaceName);
            w.WriteString("privateKeyFile", privateKeyFile ?? "");
            if (listenPort is int port)
                w.WriteNumber("listenPort", port);
            if (fwmark != 0)
                w.WriteNumber("fwmark", fwmark);
            Strings(w, "addresses", addresses);
            if (mtu is int m)
                w.WriteNumber("mtu", m);
            w.WriteStartArray("peers");
            foreach (var p in peers)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                w.WriteString("publicKey", p.PublicKey ?? "");
                if (!string.IsNullOrEmpty(p.PresharedKeyFile))
                    w.WriteString("presharedKeyFile", p.PresharedKeyFile);
                if (p.Endpoint is not null)
                    w.WriteString("endpoint", p.Endpoint);
                Strings(w, "allowedIps", p.AllowedIps);
                if (p.PersistentKeepalive is int k and > 0)
                    w.WriteNumber("persistentKeepalive", k);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    private static void Strings(Utf8JsonWriter w, string name, List<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
            w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
