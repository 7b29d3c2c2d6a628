using System.Net.Sockets;
using System.Security.Cryptography;
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
        var (peers, drops, configuration, interfaces, apply) = FromDaemon(FirmwarePaths.StatusSocket);
        if (peers is not null && only is not null && !peers.Any(p => p.Interface == only) && !interfaces!.Any(i => i.Name == only))
            (peers, configuration, interfaces, apply) = (null, null, null, null); // not the firmware daemon's interface (a drop-in or wireguard-go one): ask its UAPI socket
        bool fromDaemon = peers is not null;
        // The UAPI directory is shared by every network namespace: a socket whose interface is not in this one
        // belongs to another namespace, and listing its peers as if they were here would mislead.
        var elsewhere = new List<string>();
        if (peers is null)
        {
            var names = Names(FirmwarePaths.Config(command.Option("config")));
            peers = [];
            interfaces = [];
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
                        interfaces.Add(found.Interface);
                        peers.AddRange(found.Peers);
                        if (DropsFromUapi(socket) is { Count: > 0 } counted)
                            (drops ??= new(StringComparer.Ordinal))[name] = counted;
                    }
                }
            }
        }
        if (only is not null)
        {
            peers = peers.Where(p => p.Interface == only).ToList();
            interfaces = interfaces!.Where(i => i.Name == only).ToList();
            if (elsewhere.Contains(only))
            {
                error.WriteLine($"routerd: {only} is not in this network namespace (its UAPI socket is served from another one: run show there, e.g. ip netns exec NS routerd show {only})");
                return 1;
            }
            if (peers.Count == 0 && interfaces.Count == 0 && !File.Exists(Path.Combine(UapiServer.DefaultDirectory, only + ".sock")))
            {
                error.WriteLine($"routerd: no interface named {only}");
                return 1;
            }
        }
        else if (!fromDaemon && peers.Count == 0 && interfaces!.Count == 0)
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
            stdout.Write(PeerStatusFormat.Json(peers, now, drops, configuration, interfaces, apply));
        }
        else
        {
            output.Write(PeerStatusFormat.Text(peers, now, drops, configuration, interfaces, apply));
        }
        return 0;
    }

    /// <summary>The firmware daemon's peers, each interface's drops, its configuration note, its interfaces' own
    /// keys and ports, and its latest apply; all null without a daemon.</summary>
    private static (List<PeerStatus>? Peers, Dictionary<string, IReadOnlyDictionary<string, long>>? Drops, string? Configuration, List<InterfaceInfo>? Interfaces, Apply.ApplyRecord? Apply) FromDaemon(string path)
    {
        if (!File.Exists(path))
            return (null, null, null, null, null);
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Timeout.TotalMilliseconds };
            socket.Connect(new UnixDomainSocketEndPoint(path));
            byte[] answer = ReadAll(socket);
            return (PeerStatusFormat.Parse(answer), PeerStatusFormat.ParseDrops(answer), PeerStatusFormat.ParseConfiguration(answer), PeerStatusFormat.ParseInterfaces(answer), Apply.ApplyRecord.Parse(answer));
        }
        catch (Exception e) when (e is SocketException or IOException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (null, null, null, null, null);
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
        if (AskUapi(socketPath, "get=drops\n\n"u8) is not { } answer)
            return null;
        string reply = Encoding.ASCII.GetString(answer.Buffer, 0, answer.Length); // counters only: no secret in it
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

    /// <summary>
    /// One request to a UAPI socket; the reply up to its blank line (1 MiB at most), or null on any error. A get=1
    /// reply holds the private and pre-shared keys: one buffer that never grows (no stale copies), cleared by the caller.
    /// </summary>
    private static (byte[] Buffer, int Length)? AskUapi(string socketPath, ReadOnlySpan<byte> request)
    {
        byte[] buffer = new byte[1 << 20];
        int length = 0;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Timeout.TotalMilliseconds };
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            socket.Send(request);
            int n;
            while (length < buffer.Length && (n = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None)) > 0)
            {
                length += n;
                if (length >= 2 && buffer[length - 1] == '\n' && buffer[length - 2] == '\n')
                    break;
            }
            return (buffer, length);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            CryptographicOperations.ZeroMemory(buffer);
            return null;
        }
    }

    /// <summary>An interface's own key and port and its peers from its UAPI socket's get=1; null on any error.</summary>
    private static (InterfaceInfo Interface, List<PeerStatus> Peers)? FromUapi(string socketPath, string interfaceName, Dictionary<string, string> names, DateTimeOffset now)
    {
        if (AskUapi(socketPath, "get=1\n\n"u8) is not { } answer)
            return null;
        try
        {
            return ParseGet(answer.Buffer.AsSpan(0, answer.Length), interfaceName, names, now);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(answer.Buffer);
        }
    }

    private static (InterfaceInfo Interface, List<PeerStatus> Peers) ParseGet(ReadOnlySpan<byte> reply, string interfaceName, Dictionary<string, string> names, DateTimeOffset now)
    {
        var peers = new List<PeerStatus>();
        string? ownKey = null, key = null, endpoint = null;
        int port = 0, keepalive = 0;
        long sec = 0, rx = 0, tx = 0;
        var allowed = new List<string>();
        void Flush()
        {
            if (key is null)
                return;
            DateTimeOffset? handshake = sec == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(sec);
            // UAPI does not say whether initiations go unanswered: up within a session's lifetime, idle otherwise.
            string state = handshake is { } h && now - h < LinkStateModel.SessionLifetime ? "up" : "idle";
            peers.Add(new PeerStatus(interfaceName, names.TryGetValue(key, out var name) ? name : key[..8], key, endpoint, handshake, rx, tx, state,
                string.Join(", ", allowed), keepalive));
            key = endpoint = null;
            sec = rx = tx = 0;
            keepalive = 0;
            allowed.Clear();
        }
        while (!reply.IsEmpty)
        {
            int end = reply.IndexOf((byte)'\n');
            var line = end < 0 ? reply : reply[..end];
            reply = end < 0 ? default : reply[(end + 1)..];
            int eq = line.IndexOf((byte)'=');
            if (eq < 0)
                continue;
            var name = line[..eq];
            var value = line[(eq + 1)..];
            if (name.SequenceEqual("private_key"u8))
            {
                ownKey = PublicFromPrivateHex(value);
                continue;
            }
            if (name.SequenceEqual("preshared_key"u8))
                continue; // a secret: never turned into text
            string text = Encoding.ASCII.GetString(value);
            switch (Encoding.ASCII.GetString(name))
            {
                case "listen_port":
                    int.TryParse(text, out port);
                    break;
                case "public_key":
                    Flush();
                    key = Convert.ToBase64String(Convert.FromHexString(text));
                    break;
                case "endpoint":
                    endpoint = text;
                    break;
                case "allowed_ip":
                    allowed.Add(text);
                    break;
                case "persistent_keepalive_interval":
                    int.TryParse(text, out keepalive);
                    break;
                case "last_handshake_time_sec":
                    long.TryParse(text, out sec);
                    break;
                case "rx_bytes":
                    long.TryParse(text, out rx);
                    break;
                case "tx_bytes":
                    long.TryParse(text, out tx);
                    break;
                case "errno":
                    Flush();
                    break;
            }
        }
        Flush();
        return (new InterfaceInfo(interfaceName, ownKey, port), peers);
    }

    /// <summary>The base64 public key of a hex private key, as wg(8) shows an interface's own key; the private bytes are cleared.</summary>
    private static string? PublicFromPrivateHex(ReadOnlySpan<byte> hex)
    {
        if (hex.Length != 64)
            return null;
        Span<byte> privateKey = stackalloc byte[32];
        Span<byte> publicKey = stackalloc byte[32];
        try
        {
            if (Convert.FromHexString(hex, privateKey, out _, out int written) != System.Buffers.OperationStatus.Done || written != 32)
                return null;
            if (privateKey.IndexOfAnyExcept((byte)0) < 0)
                return null; // all zero: no key set
            Router.Crypto.X25519.DerivePublicKey(privateKey, publicKey);
            return Convert.ToBase64String(publicKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }
}
