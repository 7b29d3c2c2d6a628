using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// routerd against the reference implementation, Linux's own WireGuard (Debian bookworm's 6.1 kernel and its
/// wireguard.ko, booted under qemu by <see cref="KernelGuest"/>): handshakes started by either side, IPv4 and IPv6,
/// TCP both ways, a pre-shared key, persistent keepalives each way, a rekey after REKEY_AFTER_TIME (120 s) without a
/// traffic gap, roaming each way, and `routerd run` (firmware mode). One guest serves the whole class.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed partial class KernelPeerTests(KernelPeerLink link, ITestOutputHelper output) : IClassFixture<KernelPeerLink>
{
    [KernelGuestFact]
    public void HandshakeFromEitherSideThenPingV4AndV6()
    {
        using var lab = new Lab();
        link.Reset();

        // The kernel has traffic first, so it initiates: until then neither side has a handshake.
        var byKernel = link.Open(lab, 0);
        Assert.Equal(0, byKernel.KernelHandshake());
        Assert.Equal(0, byKernel.RouterdHandshake());
        Assert.Equal(0, link.Guest.Run("ping -c 3 -W 5 10.99.0.1", 60_000).Status);
        Assert.NotEqual(0, byKernel.KernelHandshake());
        Assert.NotEqual(0, byKernel.RouterdHandshake());
        Assert.True(WgQuickTests.TryPing(link.Ns, "10.99.0.2"), "IPv4 routerd -> kernel (kernel initiated)");
        Assert.True(WgQuickTests.TryPing(link.Ns, "fd99:0::2"), "IPv6 routerd -> kernel (kernel initiated)");
        Assert.Equal(0, link.Guest.Run("ping -6 -c 2 -W 5 fd99:0::1", 60_000).Status);

        // A second tunnel where routerd has traffic first, so routerd initiates.
        var byRouterd = link.Open(lab, 1);
        Assert.Equal(0, byRouterd.KernelHandshake());
        Assert.True(link.Up("10.99.1.2"), "IPv4 routerd -> kernel (routerd initiated)");
        Assert.NotEqual(0, byRouterd.KernelHandshake());
        Assert.True(WgQuickTests.TryPing(link.Ns, "fd99:1::2"), "IPv6 routerd -> kernel (routerd initiated)");
        Assert.Equal(0, link.Guest.Run("ping -c 2 -W 5 10.99.1.1", 60_000).Status);
        Assert.Equal(0, link.Guest.Run("ping -6 -c 2 -W 5 fd99:1::1", 60_000).Status);
    }

    [KernelGuestFact]
    public void TcpBothWays()
    {
        using var lab = new Lab();
        link.Reset();
        var t = link.Open(lab, 0);
        Assert.True(link.Up("10.99.0.2"), "tunnel up");
        link.Guest.Must("iperf3 -s -D -p 5201");
        Thread.Sleep(500);
        foreach (bool reverse in new[] { false, true })
        {
            string json = Sh.Run("ip", $"netns exec {link.Ns.Name} timeout 60 iperf3 -c 10.99.0.2 -p 5201 -t 4 -J --connect-timeout 10000{(reverse ? " -R" : "")}", timeoutMs: 70_000);
            using var doc = JsonDocument.Parse(json);
            var end = doc.RootElement.GetProperty("end");
            long received = end.GetProperty("sum_received").GetProperty("bytes").GetInt64();
            double mbits = end.GetProperty("sum_received").GetProperty("bits_per_second").GetDouble() / 1e6;
            long retransmits = end.GetProperty("sum_sent").TryGetProperty("retransmits", out var r) ? r.GetInt64() : -1;
            output.WriteLine($"TCP {(reverse ? "kernel -> routerd" : "routerd -> kernel")}: {mbits:F1} Mbit/s, {received} bytes, " +
                $"{retransmits} retransmits (guest under TCG; load {File.ReadAllText("/proc/loadavg").Trim()})");
            Assert.True(received > 256 * 1024, $"only {received} bytes crossed {(reverse ? "kernel -> routerd" : "routerd -> kernel")}");
        }
    }

    [KernelGuestFact]
    public void PresharedKeyMustMatch()
    {
        using var lab = new Lab();
        link.Reset();
        string psk = Sh.Run("wg", "genpsk").Trim(), other = Sh.Run("wg", "genpsk").Trim();
        var t = link.Open(lab, 0, routerdPsk: psk, kernelPsk: other);
        Assert.False(WgQuickTests.TryPing(link.Ns, "10.99.0.2", count: 2), "a tunnel came up with different pre-shared keys");
        Assert.Equal(0, t.KernelHandshake());
        Assert.Equal(0, t.RouterdHandshake());

        link.Guest.Must($"echo {psk} > /tmp/psk0 && wg set wg0 peer {t.RouterdPub} preshared-key /tmp/psk0");
        // routerd retries its initiation every REKEY_TIMEOUT (5 s) while packets wait.
        Assert.True(Wait.Until(() => WgQuickTests.TryPing(link.Ns, "10.99.0.2", count: 2), 30_000), "no tunnel with equal pre-shared keys");
        Assert.NotEqual(0, t.KernelHandshake());
        Assert.Equal(0, link.Guest.Run("ping -c 2 -W 5 10.99.0.1", 60_000).Status);
    }

    [KernelGuestFact]
    public void PersistentKeepaliveEachWay()
    {
        using var lab = new Lab();
        link.Reset();
        var t = link.Open(lab, 0);
        Assert.True(link.Up("10.99.0.2"), "tunnel up");

        // The kernel keeps the path alive: routerd receives a 32-byte keepalive a second while nothing else flows.
        link.Guest.Must($"wg set wg0 peer {t.RouterdPub} persistent-keepalive 1");
        Thread.Sleep(1500);
        long before = t.RouterdRx();
        Thread.Sleep(4000);
        long got = t.RouterdRx() - before;
        output.WriteLine($"kernel -> routerd keepalives: {got} bytes in 4 s");
        Assert.True(got >= 2 * 32, $"routerd received {got} bytes in 4 s from a kernel peer with persistent-keepalive 1");
        link.Guest.Must($"wg set wg0 peer {t.RouterdPub} persistent-keepalive 0");

        // And routerd keeps it alive: the kernel's counters grow.
        t.Wg($"set {t.RouterdIf} peer {t.KernelPub} persistent-keepalive 1");
        Thread.Sleep(1500);
        before = t.KernelRx();
        Thread.Sleep(4000);
        got = t.KernelRx() - before;
        output.WriteLine($"routerd -> kernel keepalives: {got} bytes in 4 s");
        Assert.True(got >= 2 * 32, $"the kernel received {got} bytes in 4 s from routerd with persistent-keepalive 1");
    }

    /// <summary>
    /// Two tunnels at once, one started by each side: the initiator of a session starts the next one once it is
    /// 120 s old (REKEY_AFTER_TIME). Pings every 0.2 s across that point may lose no more than 4 in a row (1 s).
    /// </summary>
    [KernelGuestFact]
    public void RekeyAfter120SecondsWithoutATrafficGap()
    {
        using var lab = new Lab();
        link.Reset();
        var routerdFirst = link.Open(lab, 0);
        var kernelFirst = link.Open(lab, 1);
        Assert.True(link.Up("10.99.0.2"), "tunnel 0 up (routerd initiated)");
        Assert.Equal(0, link.Guest.Run("ping -c 2 -W 5 10.99.1.1", 60_000).Status);
        var tunnels = new[] { routerdFirst, kernelFirst };
        var first = tunnels.Select(t => (Kernel: t.KernelHandshake(), Routerd: t.RouterdHandshake())).ToArray();

        const int count = 700; // 140 s at 0.2 s
        var pings = new[] { "10.99.0.2", "10.99.1.2" }
            .Select(a => Task.Run(() => Bounded.Run("ip", ["netns", "exec", link.Ns.Name, "ping", "-D", "-i", "0.2", "-c", $"{count}", "-W", "2", a], 200_000)))
            .ToArray();
        Task.WaitAll(pings);
        for (int i = 0; i < tunnels.Length; i++)
        {
            var (lost, longestLoss, longestGap) = Gaps(pings[i].Result.Stdout, count);
            long kernelNow = tunnels[i].KernelHandshake(), routerdNow = tunnels[i].RouterdHandshake();
            output.WriteLine($"tunnel {i} ({(i == 0 ? "routerd" : "kernel")} initiated): handshake kernel {first[i].Kernel} -> {kernelNow}, " +
                $"routerd {first[i].Routerd} -> {routerdNow}; {lost}/{count} pings lost, longest loss {longestLoss} in a row, " +
                $"longest gap between replies {longestGap:F2} s (load {File.ReadAllText("/proc/loadavg").Trim()})");
            Assert.True(kernelNow > first[i].Kernel, $"tunnel {i}: the kernel saw no new handshake in 140 s");
            Assert.True(routerdNow > first[i].Routerd, $"tunnel {i}: routerd saw no new handshake in 140 s");
            Assert.True(longestLoss <= 4, $"tunnel {i}: {longestLoss} pings in a row (> 1 s) lost across the rekey");
        }
    }

    [KernelGuestFact]
    public void RoamingEachWay()
    {
        using var lab = new Lab();
        link.Reset();
        var t = link.Open(lab, 0, keepalive: 1);
        Assert.True(link.Up("10.99.0.2"), "tunnel up");

        // The kernel's address changes (the new one first, so the route stays): routerd follows its keepalives.
        link.Guest.Must("sysctl -qw net.ipv4.conf.eth0.promote_secondaries=1 && ip addr add 192.0.2.3/24 dev eth0 && ip addr del 192.0.2.2/24 dev eth0");
        Assert.True(Wait.Until(() => t.RouterdEndpoint() == "192.0.2.3:51820", 15_000), $"routerd still has the kernel at {t.RouterdEndpoint()}");
        Assert.True(WgQuickTests.TryPing(link.Ns, "10.99.0.2"), "routerd reaches the kernel at its new address");

        // routerd's address changes: the kernel follows.
        link.Ns.Exec("sysctl", $"-qw net.ipv4.conf.{link.Tap}.promote_secondaries=1");
        link.Ns.Ip($"addr add 192.0.2.11/24 dev {link.Tap}");
        link.Ns.Ip($"addr del 192.0.2.1/24 dev {link.Tap}");
        Assert.True(Wait.Until(() => t.KernelEndpoint() == "192.0.2.11:51820", 15_000), $"the kernel still has routerd at {t.KernelEndpoint()}");
        Assert.Equal(0, link.Guest.Run("ping -c 2 -W 5 10.99.0.1", 60_000).Status);
        Assert.True(WgQuickTests.TryPing(link.Ns, "fd99:0::2"), "routerd reaches the kernel after both moved");
    }

    [KernelGuestFact]
    public void FirmwareModeRunAgainstTheKernel()
    {
        using var lab = new Lab();
        link.Reset();
        string ifname = lab.NewName("kf");
        string key = Wg.GenKey(), pub = Wg.PubKey(key);
        string kernelKey = Wg.GenKey(), kernelPub = Wg.PubKey(kernelKey);
        string keyFile = lab.File(key + "\n", "wg.key");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string dir = Path.GetDirectoryName(keyFile)!;
        string config = lab.File($$"""
            {
              "interfaces": {
                "{{ifname}}": {
                  "privateKeyFile": "{{keyFile}}",
                  "listenPort": 51820,
                  "addresses": ["10.99.0.1/24", "fd99:0::1/64"],
                  "mtu": 1420,
                  "peers": [
                    { "name": "kernel", "publicKey": "{{kernelPub}}", "endpoint": "192.0.2.2:51820",
                      "allowedIps": ["10.99.0.2/32", "fd99:0::2/128"], "persistentKeepalive": 25 }
                  ]
                }
              },
              "state": { "timestampFloorFile": "{{dir}}/timestamp-floor" }
            }
            """, "router.json");
        var env = new Dictionary<string, string>
        {
            ["ROUTERD_CONTROL_SOCKET"] = Path.Combine(dir, "control.sock"),
            ["ROUTERD_STATUS_SOCKET"] = Path.Combine(dir, "status.sock"),
            ["ROUTERD_SEED"] = "none",
            ["LOG_LEVEL"] = "info",
        };
        var routerd = lab.StartLogged(link.Ns, Implementations.Routerd, ["run", "--config", config], env, "routerd run");
        Assert.True(Wait.Until(() => routerd.HasExited || File.Exists(env["ROUTERD_STATUS_SOCKET"]), 20_000) && !routerd.HasExited, "routerd run did not come up");
        link.GuestTunnel(0, kernelKey, pub, psk: null, keepalive: 0);

        // routerd's persistent keepalive starts the handshake by itself; then traffic both ways.
        Assert.True(link.Up("10.99.0.2"), "routerd run -> kernel, IPv4");
        Assert.True(WgQuickTests.TryPing(link.Ns, "fd99:0::2"), "routerd run -> kernel, IPv6");
        Assert.Equal(0, link.Guest.Run("ping -c 2 -W 5 10.99.0.1", 60_000).Status);
        var show = Bounded.Run(Implementations.Routerd, ["show", "--json"], 30_000, env);
        output.WriteLine(show.Stdout);
        using var doc = JsonDocument.Parse(show.Stdout);
        var peer = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0];
        Assert.Equal("kernel", peer.GetProperty("name").GetString());
        Assert.Equal("192.0.2.2:51820", peer.GetProperty("endpoint").GetString());
        Assert.True(peer.GetProperty("rxBytes").GetInt64() > 0);
        Assert.Contains(pub, link.Guest.Must("wg show wg0 latest-handshakes"));
        Assert.DoesNotMatch($"{Regex.Escape(pub)}\t0\n", link.Guest.Must("wg show wg0 latest-handshakes"));
    }

    // Pings lost, the longest run of consecutive losses, the longest time between two replies (ping -D stamps).
    private static (int Lost, int LongestLoss, double LongestGap) Gaps(string pingOutput, int count)
    {
        var replies = new SortedDictionary<int, double>();
        foreach (Match m in ReplyLine().Matches(pingOutput))
            replies[int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)] = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int longest = 0, run = 0;
        for (int seq = 1; seq <= count; seq++)
        {
            run = replies.ContainsKey(seq) ? 0 : run + 1;
            longest = Math.Max(longest, run);
        }
        double gap = 0, last = double.NaN;
        foreach (double at in replies.Values)
        {
            if (!double.IsNaN(last))
                gap = Math.Max(gap, at - last);
            last = at;
        }
        return (count - replies.Count, longest, gap);
    }

    [GeneratedRegex(@"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)", RegexOptions.Multiline)]
    private static partial Regex ReplyLine();
}

/// <summary>
/// The namespace the tests' routerd runs in, joined to the kernel guest by a tap device (192.0.2.1 here, 192.0.2.2
/// in the guest), and the guest itself, booted on first use and kept for the class.
/// </summary>
public sealed class KernelPeerLink : IDisposable
{
    private readonly Lazy<(Netns Ns, KernelGuest Guest)> booted;
    private readonly string tap = $"kptap{Environment.ProcessId % 100000}";

    public KernelPeerLink()
    {
        booted = new(() =>
        {
            var ns = Netns.Create("kp");
            try
            {
                var guest = KernelGuest.Boot(ns, tap);
                Console.WriteLine($"kernel peer: {guest.KernelRelease}, booted in {guest.BootTime.TotalSeconds:F1} s");
                return (ns, guest);
            }
            catch
            {
                ns.Dispose();
                throw;
            }
        });
    }

    internal Netns Ns => booted.Value.Ns;
    internal KernelGuest Guest => booted.Value.Guest;
    internal string Tap => tap;

    /// <summary>
    /// Pings until one answers (45 s at most): the first crosses a handshake, which the emulated guest may take
    /// seconds to answer on a loaded machine.
    /// </summary>
    internal bool Up(string address) => Wait.Until(() => WgQuickTests.TryPing(Ns, address, count: 2), 45_000);

    /// <summary>Back to the starting point: no wg interfaces in the guest, the outer addresses as at boot.</summary>
    internal void Reset()
    {
        Guest.Must("for i in wg0 wg1; do ip link del $i 2>/dev/null; done; killall iperf3 2>/dev/null; " +
                 "ip addr flush dev eth0 && ip addr add 192.0.2.2/24 dev eth0 && ip link set eth0 mtu 1500 up; true");
        Ns.Ip($"addr flush dev {tap}");
        Ns.Ip($"addr add 192.0.2.1/24 dev {tap}");
        Assert.True(WgQuickTests.TryPing(Ns, "192.0.2.2"), "the guest answers on its link");
    }

    /// <summary>
    /// Tunnel <paramref name="slot"/>: routerd (drop-in, port 51820+slot, 10.99.slot.1, fd99:slot::1) and the
    /// kernel's wgSLOT (same port, .2), each with the other's endpoint, so either side may initiate.
    /// </summary>
    internal KernelTunnel Open(Lab lab, int slot, string? routerdPsk = null, string? kernelPsk = null, int keepalive = 0)
    {
        string ifname = lab.NewName("kp");
        string key = Wg.GenKey(), pub = Wg.PubKey(key);
        string kernelKey = Wg.GenKey(), kernelPub = Wg.PubKey(kernelKey);
        int port = 51820 + slot;
        lab.Daemon(Ns, Implementations.Routerd, ifname);
        string conf = $"[Interface]\nPrivateKey = {key}\nListenPort = {port}\n\n[Peer]\nPublicKey = {kernelPub}\n" +
                      $"Endpoint = 192.0.2.2:{port}\nAllowedIPs = 10.99.{slot}.2/32, fd99:{slot}::2/128\n" +
                      (routerdPsk is null ? "" : $"PresharedKey = {routerdPsk}\n") +
                      (keepalive > 0 ? $"PersistentKeepalive = {keepalive}\n" : "");
        lab.SetConf(Ns, ifname, conf);
        Ns.Ip($"addr add 10.99.{slot}.1/24 dev {ifname}");
        Ns.Ip($"addr add fd99:{slot}::1/64 dev {ifname}");
        Ns.Ip($"link set {ifname} mtu 1420 up");
        GuestTunnel(slot, kernelKey, pub, kernelPsk, keepalive);
        return new KernelTunnel(this, slot, ifname, pub, kernelPub);
    }

    /// <summary>The kernel's side of tunnel <paramref name="slot"/>: wgSLOT with the peer at 192.0.2.1:51820+slot.</summary>
    internal void GuestTunnel(int slot, string kernelKey, string peerPub, string? psk, int keepalive)
    {
        int port = 51820 + slot;
        string w = $"wg{slot}";
        Guest.Must($"umask 077; echo {kernelKey} > /tmp/key{slot}" + (psk is null ? "" : $" && echo {psk} > /tmp/psk{slot}"));
        Guest.Must($"ip link add {w} type wireguard && wg set {w} listen-port {port} private-key /tmp/key{slot} " +
                 $"peer {peerPub} endpoint 192.0.2.1:{port} allowed-ips 10.99.{slot}.1/32,fd99:{slot}::1/128" +
                 (psk is null ? "" : $" preshared-key /tmp/psk{slot}") + (keepalive > 0 ? $" persistent-keepalive {keepalive}" : ""));
        Guest.Must($"ip addr add 10.99.{slot}.2/24 dev {w} && ip addr add fd99:{slot}::2/64 dev {w} && ip link set {w} mtu 1420 up");
    }

    public void Dispose()
    {
        if (!booted.IsValueCreated)
            return;
        booted.Value.Guest.Dispose();
        booted.Value.Ns.Dispose();
    }
}

/// <summary>One routerd-to-kernel tunnel and what each side's wg(8) says about it.</summary>
internal sealed record KernelTunnel(KernelPeerLink Link, int Slot, string RouterdIf, string RouterdPub, string KernelPub)
{
    public string Wg(string args) => Link.Ns.Exec("wg", args);

    public long KernelHandshake() => long.Parse(Field(Link.Guest.Must($"wg show wg{Slot} latest-handshakes"), RouterdPub, 1));
    public long RouterdHandshake() => long.Parse(Field(Wg($"show {RouterdIf} latest-handshakes"), KernelPub, 1));
    public long KernelRx() => long.Parse(Field(Link.Guest.Must($"wg show wg{Slot} transfer"), RouterdPub, 1));
    public long RouterdRx() => long.Parse(Field(Wg($"show {RouterdIf} transfer"), KernelPub, 1));
    public string RouterdEndpoint() => Field(Wg($"show {RouterdIf} endpoints"), KernelPub, 1);
    public string KernelEndpoint() => Field(Link.Guest.Must($"wg show wg{Slot} endpoints"), RouterdPub, 1);
    public string Show() => Wg($"show {RouterdIf}");

    private static string Field(string output, string key, int index)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Trim().Split('\t');
            if (parts[0] == key && parts.Length > index)
                return parts[index];
        }
        throw new InvalidOperationException($"no {key} in:\n{output}");
    }
}
