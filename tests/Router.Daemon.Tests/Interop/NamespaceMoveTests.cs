using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Router.Daemon.Tests.Firmware;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// The stock "WireGuard in a namespace" pattern (wireguard.com/netns): routerd creates the interface in namespace A,
/// which is where its UDP socket stays; the interface is moved to namespace B and configured there with wg(8) (the
/// UAPI socket path is on the shared filesystem) and `ip`; the peer is wireguard-go in a third namespace C, reached
/// from A over a veth pair. routerd must follow the interface into B: up/down, MTU (up to a large one set in B),
/// counters, roaming, a move back to A, and deletion. Before issue 13 the device stayed down forever after the move.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed partial class NamespaceMoveTests
{
    // The largest MTU the issue names; the kernel's TUN allows up to 65535 (max_mtu), and 34736 + 60 bytes of outer
    // headers still fit one UDP datagram (fragmented on the 1500-byte veth).
    private const int BigMtu = 34736;

    [RootTheory]
    [InlineData("offloads")]
    [InlineData("no offloads")] // plain reads are sized by the MTU routerd knows: a missed MTU change truncates them
    public void An_interface_moved_to_another_namespace_works_there_and_back(string mode)
    {
        using var lab = new Lab();
        Netns a = lab.Ns("mva"), b = lab.Ns("mvb"), c = lab.Ns("mvc");
        var (vethA, vethC) = lab.Link(a, c);
        a.Ip($"addr add 192.0.2.1/24 dev {vethA}");
        c.Ip($"addr add 192.0.2.2/24 dev {vethC}");
        string ifR = lab.NewName("nm"), ifG = lab.NewName("ng");
        string keyR = Wg.GenKey(), keyG = Wg.GenKey();
        string pubR = Wg.PubKey(keyR), pubG = Wg.PubKey(keyG);

        var log = new ConcurrentQueue<string>();
        var env = new Dictionary<string, string> { ["LOG_LEVEL"] = "verbose" };
        if (mode == "no offloads")
            env["ROUTERD_TUN_OFFLOAD"] = "0";
        Process routerd = StartCaptured(lab, a, ifR, env, log);
        lab.Daemon(c, Implementations.WireguardGo, ifG);

        // The exact sequence: move, then configure in B with wg and ip; the UDP socket is bound in A.
        a.Ip($"link set {ifR} netns {b.Name}");
        Assert.DoesNotContain($": {ifR}:", a.Ip("-o link show"), StringComparison.Ordinal);
        lab.SetConf(b, ifR, WgOut.Conf(keyR, 51820, (pubG, "192.0.2.2:51821", "10.123.0.2/32", 0)));
        b.Ip($"addr add 10.123.0.1/24 dev {ifR}");
        b.Ip($"link set {ifR} up");
        lab.SetConf(c, ifG, WgOut.Conf(keyG, 51821, (pubR, "192.0.2.1:51820", "10.123.0.1/32", 0)));
        c.Ip($"addr add 10.123.0.2/24 dev {ifG}");
        c.Ip($"link set {ifG} up");
        Assert.Contains("51820", a.Exec("ss", "-uln")); // the socket stayed in A

        Assert.True(Ping(b, "10.123.0.2", 3), $"B reaches the peer through the moved interface\n{Tail(log)}");
        Assert.True(Ping(c, "10.123.0.1", 3), "the peer reaches B");
        Assert.Contains(log, l => l.Contains("moved to another network namespace", StringComparison.Ordinal));
        var (rx1, tx1) = Transfer(b, ifR, pubG);
        Assert.True(rx1 > 0 && tx1 > 0, $"wg show transfer counts: rx {rx1} tx {tx1}");
        Assert.True(Ping(b, "10.123.0.2", 3));
        var (rx2, tx2) = Transfer(b, ifR, pubG);
        Assert.True(rx2 > rx1 && tx2 > tx1, $"counters move: rx {rx1} -> {rx2}, tx {tx1} -> {tx2}");

        // Down in B stops the tunnel; up again brings it back (both seen only by following the link into B).
        int downs = Count(log, "interface down");
        b.Ip($"link set {ifR} down");
        Assert.True(Wait.Until(() => Count(log, "interface down") > downs, 5000), $"down in B is followed\n{Tail(log)}");
        b.Ip($"link set {ifR} up");
        b.Ip($"addr replace 10.123.0.1/24 dev {ifR}");
        Assert.True(Ping(b, "10.123.0.2", 3), "up again in B");

        // Roaming: the peer moves to another port; routerd learns it from its next authenticated packet.
        c.Exec("wg", $"set {ifG} listen-port 51822 peer {pubR} persistent-keepalive 1");
        Assert.True(Wait.Until(() => Endpoint(b, ifR, pubG) == "192.0.2.2:51822", 8000),
            $"routerd still has the peer at {Endpoint(b, ifR, pubG)} after it roamed to port 51822");
        Assert.True(Ping(b, "10.123.0.2", 3), "B reaches the peer on its new port");

        // A big MTU set in B is followed (logged, and packets that large cross: plain reads are sized by it).
        b.Ip($"link set {ifR} mtu {BigMtu}");
        c.Ip($"link set {ifG} mtu {BigMtu}");
        Assert.True(WaitForLine(log, $"MTU is now {BigMtu}", 5000), $"MTU {BigMtu} set in B is followed\n{Tail(log)}");
        Assert.True(Ping(b, "10.123.0.2", 3, size: 30_000, dontFragment: true), $"30000-byte pings at MTU {BigMtu}\n{Tail(log)}");
        Assert.True(Ping(c, "10.123.0.1", 3, size: 30_000, dontFragment: true), "30000-byte pings back");

        // Back home to A (its index there may differ from the old one): followed again.
        b.Ip($"link set {ifR} netns {a.Name}");
        a.Ip($"addr add 10.123.0.1/24 dev {ifR}");
        a.Ip($"link set {ifR} up");
        Assert.True(Ping(a, "10.123.0.2", 3), $"A reaches the peer after the interface came back\n{Tail(log)}");
        Assert.Contains(log, l => l.Contains("is back in routerd's network namespace", StringComparison.Ordinal));

        // Deleting it (moved once more, to B) still ends routerd, as wg-quick down expects.
        a.Ip($"link set {ifR} netns {b.Name}");
        Thread.Sleep(200);
        b.Ip($"link del {ifR}");
        Assert.True(routerd.WaitForExit(15_000), "routerd exits when the moved interface is deleted");
        Assert.Equal(0, routerd.ExitCode);
    }

    /// <summary>
    /// Firmware mode (routerd run) uses the same TUN code: its interface, moved away while up, keeps its tunnel, and
    /// down/up there is followed (before issue 13 the engine stayed up, sending keepalives, whatever the link did).
    /// </summary>
    [RootFact]
    public void A_firmware_interface_moved_to_another_namespace_keeps_its_tunnel()
    {
        using var rig = new FirmwareRig();
        using var other = Netns.Create("fwm");
        rig.StartWireguardGo(); // first, so routerd's first initiation is answered (as FirmwareRunTests does)
        rig.WriteConfig(rig.Config(keepalive: 1));
        rig.StartRouterd();
        Assert.True(rig.WaitForUapi(), $"routerd run came up\n{rig.Log}");
        Assert.True(Ping(rig.A, "10.77.0.2", 3), $"tunnel up before the move\n{rig.Log}");

        rig.A.Ip($"link set {rig.IfA} netns {other.Name}");
        other.Ip($"addr add 10.77.0.1/24 dev {rig.IfA}");
        other.Ip($"link set {rig.IfA} up");
        Assert.True(Ping(other, "10.77.0.2", 3), $"the moved interface reaches the peer\n{rig.Log}");

        // Down there must stop the engine (a keepalive a second otherwise): wireguard-go then hears nothing from it.
        long handshake = LatestHandshake(rig.B, rig.IfB, rig.PubA);
        other.Ip($"link set {rig.IfA} down");
        Thread.Sleep(2000); // one poll (1 s) and then some
        long before = Transfer(rig.B, rig.IfB, rig.PubA).Rx;
        Thread.Sleep(3000);
        long after = Transfer(rig.B, rig.IfB, rig.PubA).Rx;
        Assert.True(after == before, $"routerd kept sending while its interface was down in the other namespace: {before} -> {after} bytes");
        // Up again: sessions were dropped with the down, so a fresh handshake (persistent keepalive) and traffic.
        other.Ip($"link set {rig.IfA} up");
        Assert.True(Wait.Until(() => LatestHandshake(rig.B, rig.IfB, rig.PubA) > handshake, 15_000), "a fresh handshake after up");
        Assert.True(Ping(other, "10.77.0.2", 3), $"up again in the other namespace\n{rig.Log}");
        Assert.False(rig.Routerd!.HasExited);
        other.Ip($"link del {rig.IfA}");
    }

    private static Process StartCaptured(Lab lab, Netns ns, string ifname, Dictionary<string, string> env, ConcurrentQueue<string> log)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "netns", "exec", ns.Name, Implementations.Routerd, "-f", ifname })
            psi.ArgumentList.Add(arg);
        foreach (var (k, v) in env)
            psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        lab.Own(p);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!Wait.Until(() => p.HasExited || TunnelPair.IsServing(Lab.Socket(ifname)), 15_000) || p.HasExited)
            throw new InvalidOperationException($"routerd -f {ifname} did not come up\n{string.Join('\n', log)}");
        return p;
    }

    internal static bool Ping(Netns ns, string address, int count, int size = 56, bool dontFragment = false)
    {
        try
        {
            ns.Exec("ping", $"-c {count} -i 0.2 -W 3 -s {size}{(dontFragment ? " -M do" : "")} {address}");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool WaitForLine(ConcurrentQueue<string> log, string text, int timeoutMs)
        => Wait.Until(() => log.Any(l => l.Contains(text, StringComparison.Ordinal)), timeoutMs);

    private static int Count(ConcurrentQueue<string> log, string text) => log.Count(l => l.Contains(text, StringComparison.Ordinal));

    private static string Tail(ConcurrentQueue<string> log) => string.Join('\n', log.TakeLast(30));

    private static string Endpoint(Netns ns, string ifname, string pub)
        => WgOut.Pairs(ns.Exec("wg", $"show {ifname} endpoints")).GetValueOrDefault(pub, "");

    private static long LatestHandshake(Netns ns, string ifname, string pub)
        => long.Parse(WgOut.Pairs(ns.Exec("wg", $"show {ifname} latest-handshakes")).GetValueOrDefault(pub, "0"));

    private static (long Rx, long Tx) Transfer(Netns ns, string ifname, string pub)
    {
        string line = ns.Exec("wg", $"show {ifname} transfer").Split('\n').First(l => l.StartsWith(pub, StringComparison.Ordinal));
        var m = TransferLine().Match(line);
        return (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value));
    }

    [GeneratedRegex(@"\t(\d+)\t(\d+)")]
    private static partial Regex TransferLine();
}
