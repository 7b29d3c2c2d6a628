using System.Diagnostics;
using System.Net.Sockets;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Two sites in two network namespaces joined by a veth pair, each running one userspace WireGuard implementation
/// in the foreground (<c>PROGRAM -f IFNAME</c>), configured with the real wg(8) exactly as wg-quick would:
/// outer addresses 192.0.2.1-2 and 2001:db8::1-2 on the veth, tunnel addresses 10.99.0.1-2 and fd99::1-2.
/// Everything is removed on Dispose, also when a test failed.
/// </summary>
internal sealed class TunnelPair : IDisposable
{
    private static int counter;

    public Netns A { get; }
    public Netns B { get; }
    public string IfA { get; }
    public string IfB { get; }
    public string KeyA { get; } = Wg.GenKey();
    public string KeyB { get; } = Wg.GenKey();
    public string PubA => Wg.PubKey(KeyA);
    public string PubB => Wg.PubKey(KeyB);
    public Process? ProcA { get; private set; }
    public Process? ProcB { get; private set; }
    private readonly string programA, programB;
    private readonly List<string> cleanupFiles = [];

    public TunnelPair(string programA, string programB, bool ipv6Outer = false, int tunnelMtu = 1420, int vethMtu = 1500,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        this.programA = programA;
        this.programB = programB;
        int n = Interlocked.Increment(ref counter);
        // Interface names are global through the UAPI socket path: make them unique per process and pair.
        string tag = $"{Environment.ProcessId % 10000}{n}";
        IfA = $"ia{tag}";
        IfB = $"ib{tag}";
        A = Netns.Create("a");
        B = Netns.Create("b");
        try
        {
            string va = $"va{tag}", vb = $"vb{tag}";
            Sh.Run("ip", $"link add {va} netns {A.Name} type veth peer name {vb} netns {B.Name}");
            A.Ip($"link set {va} mtu {vethMtu} up");
            B.Ip($"link set {vb} mtu {vethMtu} up");
            A.Ip($"addr add 192.0.2.1/24 dev {va}");
            B.Ip($"addr add 192.0.2.2/24 dev {vb}");
            A.Ip($"addr add 2001:db8::1/64 dev {va} nodad");
            B.Ip($"addr add 2001:db8::2/64 dev {vb} nodad");
            VethA = va;
            VethB = vb;

            ProcA = StartDaemon(A, programA, IfA, environment);
            ProcB = StartDaemon(B, programB, IfB, environment);
            string endA = ipv6Outer ? "[2001:db8::1]:51820" : "192.0.2.1:51820";
            string endB = ipv6Outer ? "[2001:db8::2]:51820" : "192.0.2.2:51820";
            SetConf(A, IfA, KeyA, 51820, PubB, endB, "10.99.0.2/32,fd99::2/128");
            SetConf(B, IfB, KeyB, 51820, PubA, endA, "10.99.0.1/32,fd99::1/128");
            foreach (var (ns, ifname, ip4, ip6) in new[] { (A, IfA, "10.99.0.1", "fd99::1"), (B, IfB, "10.99.0.2", "fd99::2") })
            {
                ns.Ip($"addr add {ip4}/24 dev {ifname}");
                ns.Ip($"addr add {ip6}/64 dev {ifname} nodad");
                ns.Ip($"link set {ifname} mtu {tunnelMtu} up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string VethA { get; } = "";
    public string VethB { get; } = "";

    private static Process StartDaemon(Netns ns, string program, string ifname, IReadOnlyDictionary<string, string>? environment)
    {
        string socket = $"/var/run/wireguard/{ifname}.sock";
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns.Name, program, "-f", ifname })
            psi.ArgumentList.Add(a);
        psi.Environment["LOG_LEVEL"] = "error";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            psi.Environment[name] = value;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{Path.GetFileName(program)} {ifname}] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!Wait.Until(() => p.HasExited || IsServing(socket), 10_000) || p.HasExited)
            throw new InvalidOperationException($"{program} -f {ifname} did not come up (exited: {p.HasExited})");
        return p;
    }

    public static bool IsServing(string socketPath)
    {
        if (!File.Exists(socketPath))
            return false;
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private void SetConf(Netns ns, string ifname, string privateKey, int port, string peer, string endpoint, string allowed)
    {
        string conf = $"[Interface]\nPrivateKey = {privateKey}\nListenPort = {port}\n\n[Peer]\nPublicKey = {peer}\nEndpoint = {endpoint}\nAllowedIPs = {allowed}\n";
        string file = Path.Combine(Path.GetTempPath(), $"{ifname}-{Guid.NewGuid():N}.conf");
        File.WriteAllText(file, conf);
        cleanupFiles.Add(file);
        ns.Exec("wg", $"setconf {ifname} {file}");
    }

    /// <summary>Runs wg(8) in site A or B.</summary>
    public string WgA(string args) => A.Exec("wg", args);
    public string WgB(string args) => B.Exec("wg", args);

    /// <summary>Pings from A to <paramref name="address"/>; true when all replies came back.</summary>
    public bool PingFromA(string address, int count = 3, int size = 56)
        => TryRun(A, "ping", $"-c {count} -i 0.2 -W 3 -s {size} {address}");

    public bool PingFromB(string address, int count = 3, int size = 56)
        => TryRun(B, "ping", $"-c {count} -i 0.2 -W 3 -s {size} {address}");

    private static bool TryRun(Netns ns, string program, string args)
    {
        try
        {
            ns.Exec(program, args);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        foreach (var p in new[] { ProcA, ProcB })
        {
            if (p is null)
                continue;
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
        A?.Dispose();
        B?.Dispose();
        foreach (var f in cleanupFiles)
            File.Delete(f);
        foreach (var ifname in new[] { IfA, IfB })
            if (ifname is not null)
                File.Delete($"/var/run/wireguard/{ifname}.sock");
    }
}

/// <summary>wg(8) key helpers.</summary>
internal static class Wg
{
    public static string GenKey() => Sh.Run("wg", "genkey").Trim();
    public static string PubKey(string privateKey) => Sh.Run("wg", "pubkey", privateKey + "\n").Trim();
}
