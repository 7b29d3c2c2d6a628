using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Router.Daemon.Cli;
using Router.Daemon.Config;
using Router.Daemon.Firmware;
using Router.Leds;
using Router.Linux.Uapi;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd show [IFNAME] [--json]</c>: per peer its name, endpoint, last handshake, rx/tx and state. Asks the
/// firmware daemon first (its status socket knows names and states); without one, reads every WireGuard UAPI socket
/// (/var/run/wireguard/*.sock: routerd's drop-in mode, wireguard-go, ...) and names peers from the configuration file.
/// </summary>
internal static class ShowCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static int Run(ParsedCommand command, TextWriter output, TextWriter error)
    {
        string? only = command.Arguments.Count > 0 ? command.Arguments[0] : null;
        bool json = command.Has("json");
        var now = DateTimeOffset.UtcNow;
        var (peers, drops, configuration, apply) = FromDaemon(FirmwarePaths.StatusSocket);
        if (peers is not null && only is not null && !peers.Any(p => p.Interface == only))
            (peers, configuration, apply) = (null, null, null); // not the firmware daemon's interface (a drop-in or wireguard-go one): ask its UAPI socket
        bool fromDaemon = peers is not null;
        // The UAPI directory is shared by every network namespace: a socket whose interface is not in this one
        // belongs to another namespace, and listing its peers as if they were here would mislead.
        var elsewhere = new List<string>();
        if (peers is null)
        {
            var names = Names(FirmwarePaths.Config(command.Option("config")));
            peers = [];
            if (Directory.Exists(UapiServer.DefaultDirectory))
            {
                foreach (string socket in Directory.GetFiles(UapiServer.DefaultDirectory, "*.sock").Order(StringComparer.Ordinal))
                {
                    string name = Path.GetFileNameWithoutExtension(socket);
                    if (only is not null && name != only)
                        continue;
                    if (!Router.Linux.Rtnetlink.Exists(name))
                    {
                        elsewhere.Add(name);
                        continue;
                    }
                    if (FromUapi(socket, name, names, now) is { } found)
                    {
                        peers.AddRange(found);
                        if (DropsFromUapi(socket) is { Count: > 0 } counted)
                            (drops ??= new(StringComparer.Ordinal))[name] = counted;
                    }
                }
            }
        }
        if (only is not null)
        {
            peers = peers.Where(p => p.Interface == only).ToList();
            if (elsewhere.Contains(only))
            {
                error.WriteLine($"routerd: {only} is not in this network namespace (its UAPI socket is served from another one: run show there, e.g. ip netns exec NS routerd show {only})");
                return 1;
            }
            if (peers.Count == 0 && !File.Exists(Path.Combine(UapiServer.DefaultDirectory, only + ".sock")))
            {
                error.WriteLine($"routerd: no interface named {only}");
                return 1;
            }
        }
        else if (!fromDaemon && peers.Count == 0)
        {
            error.WriteLine($"routerd: no WireGuard interface in this network namespace, and no firmware daemon at {FirmwarePaths.StatusSocket}" +
                (elsewhere.Count > 0 ? $" ({elsewhere.Count} UAPI socket(s) in {UapiServer.DefaultDirectory} belong to other namespaces: {string.Join(", ", elsewhere)})" : ""));
        }
        else if (elsewhere.Count > 0 && !json)
        {
            error.WriteLine($"({elsewhere.Count} UAPI socket(s) in {UapiServer.DefaultDirectory} belong to interfaces in other network namespaces, not shown: {string.Join(", ", elsewhere)})");
        }
        if (json)
        {
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(PeerStatusFormat.Json(peers, now, drops, configuration, apply));
        }
        else
        {
            output.Write(PeerStatusFormat.Text(peers, now, drops, configuration, apply));
        }
        return 0;
    }

    /// <summary>The firmware daemon's peers, each interface's drops, its configuration note and its latest apply; all null without a daemon.</summary>
    private static (List<PeerStatus>? Peers, Dictionary<string, IReadOnlyDictionary<string, long>>? Drops, string? Configuration, Apply.ApplyRecord? Apply) FromDaemon(string path)
    {
        if (!File.Exists(path))
            return (null, null, null, null);
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Timeout.TotalMilliseconds };
            socket.Connect(new UnixDomainSocketEndPoint(path));
            byte[] answer = ReadAll(socket);
            return (PeerStatusFormat.Parse(answer), PeerStatusFormat.ParseDrops(answer), PeerStatusFormat.ParseConfiguration(answer), Apply.ApplyRecord.Parse(answer));
        }
        catch (Exception e) when (e is SocketException or IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (null, null, null, null);
        }
    }

    private static byte[] ReadAll(Socket socket)
    {
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        int n;
        while ((n = socket.Receive(chunk)) > 0)
            buffer.Write(chunk, 0, n);
        return buffer.ToArray();
    }

    /// <summary>Public key (base64) → peer name, from the configuration file's JSON alone (no key files are read).</summary>
    private static Dictionary<string, string> Names(string configPath)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (RegularFile.Read(configPath, ConfigLoader.MaxFileSize).Bytes is not byte[] json)
                return names;
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (doc.RootElement.TryGetProperty("interfaces", out var interfaces) && interfaces.ValueKind == JsonValueKind.Object)
            {
                foreach (var iface in interfaces.EnumerateObject())
                {
                    if (!iface.Value.TryGetProperty("peers", out var list) || list.ValueKind != JsonValueKind.Array)
                        continue;
                    foreach (var p in list.EnumerateArray())
                    {
                        if (p.TryGetProperty("publicKey", out var k) && k.ValueKind == JsonValueKind.String
                            && p.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                            names[k.GetString()!] = n.GetString()!;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
        }
        return names;
    }

    /// <summary>
    /// A routerd drop-in's drops by reason, from its <c>get=drops</c>; null from anything else (wireguard-go hangs up
    /// on an operation it does not know) or on any error: the peers are still shown.
    /// </summary>
    private static Dictionary<string, long>? DropsFromUapi(string socketPath)
    {
        if (AskUapi(socketPath, "get=drops\n\n"u8) is not { } reply)
            return null;
        var drops = new Dictionary<string, long>(StringComparer.Ordinal);
        bool ok = false;
        foreach (string line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (eq <= 0 || !long.TryParse(line.AsSpan(eq + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value))
                continue;
            if (line[..eq] == "errno")
                ok = value == 0;
            else
                drops[line[..eq]] = value;
        }
        return ok ? drops : null;
    }

    /// <summary>One request to a UAPI socket; the reply up to its blank line (1 MiB at most), or null on any error.</summary>
    private static string? AskUapi(string socketPath, ReadOnlySpan<byte> request)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Timeout.TotalMilliseconds };
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.Send(request);
            var buffer = new MemoryStream();
            byte[] chunk = new byte[16384];
            int n;
            while (buffer.Length < (1 << 20) && (n = socket.Receive(chunk)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length >= 2 && EndsWithBlankLine(buffer))
                    break;
            }
            return Encoding.ASCII.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return null;
        }
    }

    private static List<PeerStatus>? FromUapi(string socketPath, string interfaceName, Dictionary<string, string> names, DateTimeOffset now)
    {
        if (AskUapi(socketPath, "get=1\n\n"u8) is not { } reply)
            return null;
        var peers = new List<PeerStatus>();
        string? key = null, endpoint = null;
        long sec = 0, rx = 0, tx = 0;
        void Flush()
        {
            if (key is null)
                return;
            DateTimeOffset? handshake = sec == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(sec);
            // UAPI does not say whether initiations go unanswered: up within a session's lifetime, idle otherwise.
            string state = handshake is { } h && now - h < LinkStateModel.SessionLifetime ? "up" : "idle";
            peers.Add(new PeerStatus(interfaceName, names.TryGetValue(key, out var name) ? name : key[..8], key, endpoint, handshake, rx, tx, state));
            key = endpoint = null;
            sec = rx = tx = 0;
        }
        foreach (string line in reply.Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (eq < 0)
                continue;
            string name = line[..eq], value = line[(eq + 1)..];
            switch (name)
            {
                case "public_key":
                    Flush();
                    key = Convert.ToBase64String(Convert.FromHexString(value));
                    break;
                case "endpoint":
                    endpoint = value;
                    break;
                case "last_handshake_time_sec":
                    long.TryParse(value, out sec);
                    break;
                case "rx_bytes":
                    long.TryParse(value, out rx);
                    break;
                case "tx_bytes":
                    long.TryParse(value, out tx);
                    break;
                case "errno":
                    Flush();
                    break;
            }
        }
        Flush();
        return peers;
    }

    private static bool EndsWithBlankLine(MemoryStream buffer)
    {
        byte[] b = buffer.GetBuffer();
        int len = (int)buffer.Length;
        return b[len - 1] == '\n' && b[len - 2] == '\n';
    }
}
