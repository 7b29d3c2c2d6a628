using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// 'routerd run --config' in namespace A against wireguard-go in namespace B over a veth pair. The rig writes the
/// key files and the JSON, starts and stops both ends, and removes namespaces, processes, sockets and files on
/// Dispose (also when a test fails half-way). routerd's sockets live in the rig's temp directory, not in /run.
/// </summary>
internal sealed class FirmwareRig : IDisposable
{
    private static int counter;

    public Netns A { get; }
    public Netns B { get; }
    public string IfA { get; }
    public string IfB { get; }
    public string VethA { get; }
    public string Dir { get; }
    public string ConfigPath => Path.Combine(Dir, "router.json");
    public string KeyA { get; } = Wg.GenKey();
    public string KeyB { get; } = Wg.GenKey();
    public string PubA { get; }
    public string PubB { get; }
    public Process? Routerd { get; private set; }
    public Process? WireguardGo { get; private set; }
    public ConcurrentQueue<string> Output { get; } = new();
    public string ControlSocket => Path.Combine(Dir, "control.sock");
    public string StatusSocket => Path.Combine(Dir, "status.sock");
    public string Tag { get; }

    // What the multi-site tests add: removed on Dispose like the rest.
    private readonly List<Netns> _sites = [];
    private readonly List<Process> _processes = [];

    /// <summary>Processes started by <see cref="StartWireguardGo(Netns, string, string, string[])"/> and <see cref="StartTracked"/>, in order.</summary>
    public IReadOnlyList<Process> Processes => _processes;
    private readonly List<string> _sockets = [];

    public FirmwareRig()
    {
        int n = Interlocked.Increment(ref counter);
        string tag = $"{Environment.ProcessId % 10000}{n}";
        Tag = tag;
        IfA = $"fa{tag}";
        IfB = $"fb{tag}";
        VethA = $"xa{tag}";
        PubA = Wg.PubKey(KeyA);
        PubB = Wg.PubKey(KeyB);
        Dir = Directory.CreateTempSubdirectory("routerd-fw-").FullName;
        A = Netns.Create("fa");
        B = Netns.Create("fb");
        try
        {
            string vb = $"xb{tag}";
            Sh.Run("ip", $"link add {VethA} netns {A.Name} type veth peer name {vb} netns {B.Name}");
            A.Ip($"link set {VethA} up");
            B.Ip($"link set {vb} up");
            A.Ip($"addr add 192.0.2.1/24 dev {VethA}");
            B.Ip($"addr add 192.0.2.2/24 dev {vb}");
            WriteKey("a.key", KeyA);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void WriteKey(string name, string base64)
    {
        string path = Path.Combine(Dir, name);
        File.WriteAllText(path, base64 + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>The configuration for A: one peer "hq" (wireguard-go in B) plus any extra peers given as JSON objects.</summary>
    public string Config(int keepalive = 25, string extraPeers = "", int listenPort = 51820, string leds = "")
        => $$"""
        {
          "interfaces": {
            "{{IfA}}": {
              "privateKeyFile": "{{Dir}}/a.key",
              "listenPort": {{listenPort}},
              "addresses": ["10.77.0.1/24"],
              "mtu": 1420,
              "peers": [
                { "name": "hq", "publicKey": "{{PubB}}", "endpoint": "192.0.2.2:51820",
                  "allowedIps": ["10.77.0.2/32", "10.78.0.0/24"], "persistentKeepalive": {{keepalive}} }{{extraPeers}}
              ]
            }
          },
          {{leds}}
          "forwarding": { "enabled": true, "masquerade": ["{{VethA}}"], "mssClamp": true },
          "state": { "timestampFloorFile": "{{Dir}}/timestamp-floor" }
        }
        """;

    public static string ExtraPeer(string name, string publicKey, string allowed)
        => $$""", { "name": "{{name}}", "publicKey": "{{publicKey}}", "allowedIps": ["{{allowed}}"] }""";

    /// <summary>Writes the file the way an editor over SSH would: a temp file renamed over it.</summary>
    public void WriteConfig(string json)
    {
        string temp = ConfigPath + ".tmp";
        File.WriteAllText(temp, json);
        File.Move(temp, ConfigPath, overwrite: true);
    }

    public void StartRouterd(string? notifySocket = null, IReadOnlyDictionary<string, string>? env = null, string? wrapper = null)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("netns");
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(A.Name);
        if (wrapper is not null)
        {
            foreach (var a in new[] { "unshare", "-m", "sh", "-c", wrapper + " && exec \"$0\" run --config \"$1\"", Implementations.Routerd, ConfigPath })
                psi.ArgumentList.Add(a);
        }
        else
        {
            foreach (var a in new[] { Implementations.Routerd, "run", "--config", ConfigPath })
                psi.ArgumentList.Add(a);
        }
        psi.Environment["ROUTERD_CONTROL_SOCKET"] = ControlSocket;
        psi.Environment["ROUTERD_STATUS_SOCKET"] = StatusSocket;
        psi.Environment["ROUTERD_SEED"] = "none";
        psi.Environment["LOG_LEVEL"] = "info";
        if (notifySocket is not null)
            psi.Environment["NOTIFY_SOCKET"] = notifySocket;
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
            psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Output.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Output.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        Routerd = p;
    }

    public bool WaitForUapi(int timeoutMs = 15_000)
        // The status socket opens once the start-up configuration is applied (addresses, routes, nftables).
        => Wait.Until(() => Routerd!.HasExited || (TunnelPair.IsServing($"/var/run/wireguard/{IfA}.sock") && File.Exists(StatusSocket)), timeoutMs)
           && !Routerd!.HasExited;

    /// <summary>Reads a file another process holds with an flock (BoardLed does): cat does not lock.</summary>
    public static string Cat(string path) => Sh.Run("cat", path);

    public string Log => string.Join("\n", Output);

    /// <summary>wireguard-go in B with A as its peer; <paramref name="peerPublicKey"/> replaces A's key (a typo'd config).</summary>
    public void StartWireguardGo(string? peerPublicKey = null, int keepalive = 0)
    {
        var p = B.Start("env", $"WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error {Implementations.WireguardGo} -f {IfB}");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        WireguardGo = p;
        if (!Wait.Until(() => p.HasExited || TunnelPair.IsServing($"/var/run/wireguard/{IfB}.sock"), 10_000) || p.HasExited)
            throw new InvalidOperationException("wireguard-go did not come up");
        string conf = Path.Combine(Dir, "b.conf");
        File.WriteAllText(conf, $"[Interface]\nPrivateKey = {KeyB}\nListenPort = 51820\n\n[Peer]\nPublicKey = {peerPublicKey ?? PubA}\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 10.77.0.1/32\n"
            + (keepalive > 0 ? $"PersistentKeepalive = {keepalive}\n" : ""));
        B.Exec("wg", $"setconf {IfB} {conf}");
        B.Ip($"addr add 10.77.0.2/24 dev {IfB}");
        B.Ip($"addr add 10.78.0.1/24 dev {IfB}");
        B.Ip($"link set {IfB} mtu 1420 up");
    }

    /// <summary>
    /// Another site: a namespace joined to A by its own veth pair, A's side 192.0.<paramref name="subnet"/>.1/24 and
    /// the site's side .2/24.
    /// </summary>
    public Netns AddSite(string tag, int subnet)
    {
        var ns = Netns.Create(tag);
        _sites.Add(ns);
        string va = $"x{tag}a{Tag}", vs = $"x{tag}s{Tag}";
        Sh.Run("ip", $"link add {va} netns {A.Name} type veth peer name {vs} netns {ns.Name}");
        A.Ip($"link set {va} up");
        ns.Ip($"link set {vs} up");
        A.Ip($"addr add 192.0.{subnet}.1/24 dev {va}");
        ns.Ip($"addr add 192.0.{subnet}.2/24 dev {vs}");
        return ns;
    }

    /// <summary>wireguard-go as interface <paramref name="ifName"/> in <paramref name="ns"/>, set up with a wg(8) file and `ip` commands.</summary>
    public void StartWireguardGo(Netns ns, string ifName, string wgConf, params string[] ipCommands)
    {
        var p = ns.Start("env", $"WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error {Implementations.WireguardGo} -f {ifName}");
        _processes.Add(p);
        _sockets.Add($"/var/run/wireguard/{ifName}.sock");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!Wait.Until(() => p.HasExited || TunnelPair.IsServing($"/var/run/wireguard/{ifName}.sock"), 10_000) || p.HasExited)
            throw new InvalidOperationException($"wireguard-go {ifName} did not come up");
        string conf = Path.Combine(Dir, $"{ifName}.conf");
        File.WriteAllText(conf, wgConf);
        ns.Exec("wg", $"setconf {ifName} {conf}");
        ns.Ip($"link set {ifName} up");
        foreach (var c in ipCommands)
            ns.Ip(c);
    }

    /// <summary>Starts a process in a namespace that the rig stops (with its children) on Dispose.</summary>
    public Process StartTracked(Netns ns, string program, string args)
    {
        var p = ns.Start(program, args);
        _processes.Add(p);
        return p;
    }

    public void KillWireguardGo()
    {
        if (WireguardGo is { } p)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException) { }
            p.Dispose();
            WireguardGo = null;
        }
        File.Delete($"/var/run/wireguard/{IfB}.sock");
    }

    public bool Ping(string address, int count = 3)
    {
        try
        {
            A.Exec("ping", $"-c {count} -i 0.2 -W 2 {address}");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Sends SIGTERM to routerd and waits for it to exit; true when it exited on its own.</summary>
    public bool Stop(int timeoutMs = 10_000)
    {
        if (Routerd is not { } p || p.HasExited)
            return true;
        Sh.Run("kill", $"-TERM {p.Id}");
        return p.WaitForExit(timeoutMs);
    }

    public void Signal(string signal) => Sh.Run("kill", $"-{signal} {Routerd!.Id}");

    /// <summary>Runs the routerd CLI (apply, confirm, show) against this rig's daemon.</summary>
    public (int Exit, string Stdout, string Stderr) Cli(string args, string? stdin = null, int timeoutMs = 60_000)
    {
        var psi = new ProcessStartInfo(Implementations.Routerd, args)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin is not null, UseShellExecute = false,
        };
        psi.Environment["ROUTERD_CONTROL_SOCKET"] = ControlSocket;
        psi.Environment["ROUTERD_STATUS_SOCKET"] = StatusSocket;
        using var p = Process.Start(psi)!;
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill();
            throw new TimeoutException($"routerd {args} timed out");
        }
        return (p.ExitCode, o.Result, e.Result);
    }

    /// <summary>Latest handshake (unix seconds) of the peer with this key, from wg show in A.</summary>
    public long LatestHandshake(string publicKey)
    {
        foreach (var line in A.Exec("wg", $"show {IfA} latest-handshakes").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t');
            if (parts[0] == publicKey)
                return long.Parse(parts[1]);
        }
        return -1;
    }

    public void Dispose()
    {
        try
        {
            if (Routerd is { } p)
            {
                if (!p.HasExited && !Stop(5000))
                    p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
                p.Dispose();
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        KillWireguardGo();
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        foreach (var socket in _sockets)
            File.Delete(socket);
        foreach (var ns in _sites)
            ns.Dispose();
        A?.Dispose();
        B?.Dispose();
        File.Delete($"/var/run/wireguard/{IfA}.sock");
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException) { }
    }
}

/// <summary>A datagram socket standing in for systemd's $NOTIFY_SOCKET; collects every message.</summary>
internal sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly Thread _thread;
    public string Path { get; }
    public ConcurrentQueue<string> Messages { get; } = new();

    public NotifyListener(string path)
    {
        Path = path;
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        _thread = new Thread(() =>
        {
            var buffer = new byte[4096];
            while (true)
            {
                try
                {
                    int n = _socket.Receive(buffer);
                    Messages.Enqueue(Encoding.UTF8.GetString(buffer, 0, n));
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public bool Has(string line) => Messages.Any(m => m.Split('\n').Contains(line));

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }
}
