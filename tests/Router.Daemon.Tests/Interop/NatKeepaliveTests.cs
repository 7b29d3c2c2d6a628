using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// B sits behind a NAT router (a third namespace with an nftables masquerade and a 3 s conntrack UDP timeout); A knows
/// B only from B's packets. With a persistent keepalive of 1 s on B the mapping stays open, and A still reaches B after
/// idling well past the timeout; with the keepalive off, the mapping expires and A's packets are lost.
/// Run with routerd on each side (A learning the NATed endpoint; B keeping the hole open).
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class NatKeepaliveTests
{
    public static TheoryData<string, string> Pairs => new()
    {
        { "routerd", "wireguard-go" },
        { "wireguard-go", "routerd" },
    };

    private static string Program(string name) => name == "routerd" ? Implementations.Routerd : Implementations.WireguardGo;

    [RootTheory]
    [MemberData(nameof(Pairs))]
    public void PersistentKeepaliveHoldsTheNatOpen(string aProgram, string bProgram)
    {
        using var lab = new Lab();
        Netns a = lab.Ns("na"), r = lab.Ns("nr"), b = lab.Ns("nb");
        var (ar, ra) = lab.Link(a, r);
        var (rb, br) = lab.Link(r, b);
        a.Ip($"addr add 192.0.2.1/24 dev {ar}");
        r.Ip($"addr add 192.0.2.254/24 dev {ra}");
        r.Ip($"addr add 10.0.0.254/24 dev {rb}");
        b.Ip($"addr add 10.0.0.2/24 dev {br}");
        b.Ip("route add default via 10.0.0.254");
        r.Exec("sysctl", "-qw net.ipv4.ip_forward=1");
        r.Exec("nft", "add table ip nat");
        r.Exec("nft", "\"add chain ip nat post { type nat hook postrouting priority 100; }\"");
        r.Exec("nft", $"add rule ip nat post oifname {ra} masquerade");
        // conntrack's UDP timeouts are per network namespace: shorten them in the router only.
        string rootTimeout = Sh.Run("sysctl", "-n net.netfilter.nf_conntrack_udp_timeout").Trim();
        r.Exec("sysctl", "-qw net.netfilter.nf_conntrack_udp_timeout=3");
        r.Exec("sysctl", "-qw net.netfilter.nf_conntrack_udp_timeout_stream=3");
        Assert.Equal("3", r.Exec("sysctl", "-n net.netfilter.nf_conntrack_udp_timeout").Trim());
        Assert.Equal(rootTimeout, Sh.Run("sysctl", "-n net.netfilter.nf_conntrack_udp_timeout").Trim());

        string ifA = lab.NewName("na"), ifB = lab.NewName("nb");
        string kA = Wg.GenKey(), kB = Wg.GenKey();
        string pA = Wg.PubKey(kA), pB = Wg.PubKey(kB);
        lab.Daemon(a, Program(aProgram), ifA);
        lab.Daemon(b, Program(bProgram), ifB);
        lab.SetConf(a, ifA, WgOut.Conf(kA, 51820, (pB, null, "10.99.0.2/32", 0))); // no endpoint: A cannot reach B by itself
        lab.SetConf(b, ifB, WgOut.Conf(kB, 51820, (pA, "192.0.2.1:51820", "10.99.0.1/32", 1)));
        foreach (var (ns, ifname, addr) in new[] { (a, ifA, "10.99.0.1"), (b, ifB, "10.99.0.2") })
        {
            ns.Ip($"addr add {addr}/24 dev {ifname}");
            ns.Ip($"link set {ifname} up");
        }

        Assert.True(WgQuickTests.TryPing(b, "10.99.0.1"), "B reaches A through the NAT");
        string endpoint = WgOut.Pairs(a.Exec("wg", $"show {ifA} endpoints"))[pB];
        Console.WriteLine($"A sees B at {endpoint}");
        Assert.StartsWith("192.0.2.254:", endpoint);

        Thread.Sleep(5000); // idle, longer than the conntrack timeout: only B's keepalives cross the NAT
        Assert.True(WgQuickTests.TryPing(a, "10.99.0.2"), "A reaches B after 5 s idle with keepalive 1");

        // Negative: without the keepalive the mapping expires and A's packets hit a closed NAT.
        b.Exec("wg", $"set {ifB} peer {pA} persistent-keepalive 0");
        Thread.Sleep(6000);
        Assert.False(WgQuickTests.TryPing(a, "10.99.0.2", count: 2), "A reached B through an expired NAT mapping");
    }
}
