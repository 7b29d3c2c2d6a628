using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// routerd's cryptokey routing against two wireguard-go peers in their own namespaces: outgoing, the most specific
/// allowed IP wins (C's /32 inside B's /16 takes the traffic for that address); incoming, a packet from B whose inner
/// source is not in B's allowed IPs is dropped before it reaches A's kernel (counted by an nftables rule on the TUN).
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class CryptoRoutingTests
{
    [RootFact]
    public void MostSpecificAllowedIpWinsAndSourcesAreFiltered()
    {
        using var lab = new Lab();
        Netns a = lab.Ns("ca"), b = lab.Ns("cb"), c = lab.Ns("cc");
        var (ab, ba) = lab.Link(a, b);
        var (ac, ca) = lab.Link(a, c);
        a.Ip($"addr add 192.0.2.1/24 dev {ab}");
        b.Ip($"addr add 192.0.2.2/24 dev {ba}");
        a.Ip($"addr add 198.51.100.1/24 dev {ac}");
        c.Ip($"addr add 198.51.100.3/24 dev {ca}");
        string ifA = lab.NewName("ca"), ifB = lab.NewName("cb"), ifC = lab.NewName("cc");
        string kA = Wg.GenKey(), kB = Wg.GenKey(), kC = Wg.GenKey();
        string pA = Wg.PubKey(kA), pB = Wg.PubKey(kB), pC = Wg.PubKey(kC);

        lab.Daemon(a, Implementations.Routerd, ifA);
        lab.Daemon(b, Implementations.WireguardGo, ifB);
        lab.Daemon(c, Implementations.WireguardGo, ifC);
        lab.SetConf(a, ifA, WgOut.Conf(kA, 51820, (pB, "192.0.2.2:51820", "10.99.0.0/16", 0), (pC, "198.51.100.3:51820", "10.99.5.5/32", 0)));
        lab.SetConf(b, ifB, WgOut.Conf(kB, 51820, (pA, "192.0.2.1:51820", "10.99.0.1/32", 0)));
        lab.SetConf(c, ifC, WgOut.Conf(kC, 51820, (pA, "198.51.100.1:51820", "10.99.0.1/32", 0)));
        foreach (var (ns, ifname, addr) in new[] { (a, ifA, "10.99.0.1"), (b, ifB, "10.99.0.2"), (c, ifC, "10.99.5.5") })
        {
            ns.Ip($"addr add {addr}/16 dev {ifname}");
            ns.Ip($"link set {ifname} up");
        }

        // Outgoing: 10.99.5.5 is inside B's /16, but C's /32 is more specific: the ping reaches C (B does not have it).
        Assert.True(WgQuickTests.TryPing(a, "10.99.0.2"), "A reaches B");
        long bRxBefore = RxOf(a, ifA, pB);
        Assert.True(WgQuickTests.TryPing(a, "10.99.5.5"), "A reaches C's more specific address");
        Assert.True(RxOf(a, ifA, pC) > 0, "the replies came from C");
        Assert.Equal(bRxBefore, RxOf(a, ifA, pB));
        // Without C's entry the same address belongs to B's /16, where nobody answers: the test can tell.
        a.Exec("wg", $"set {ifA} peer {pC} remove");
        Assert.False(WgQuickTests.TryPing(a, "10.99.5.5", count: 1), "10.99.5.5 answered without C's peer entry");

        // Incoming: narrow B to its /32, then B sends from another inner address.
        a.Exec("wg", $"set {ifA} peer {pB} allowed-ips 10.99.0.2/32");
        b.Ip($"addr add 10.99.0.22/16 dev {ifB}");
        a.Exec("nft", $"add table inet rfilt");
        a.Exec("nft", "\"add chain inet rfilt pre { type filter hook prerouting priority -300; }\"");
        a.Exec("nft", $"add rule inet rfilt pre iifname {ifA} ip saddr 10.99.0.22 counter");
        Assert.True(WgQuickTests.TryPing(b, "10.99.0.1"), "B still reaches A from its allowed address");
        Assert.False(TryPingFrom(b, "10.99.0.22", "10.99.0.1"), "a ping from outside B's allowed IPs got an answer");
        Assert.Equal(0, SpoofedPackets(a));
        // The positive control: allow the address and the same packets arrive (so the counter does count).
        a.Exec("wg", $"set {ifA} peer {pB} allowed-ips 10.99.0.2/32,10.99.0.22/32");
        Assert.True(TryPingFrom(b, "10.99.0.22", "10.99.0.1"), "allowed now, the ping from 10.99.0.22 works");
        Assert.True(SpoofedPackets(a) >= 3);
    }

    private static bool TryPingFrom(Netns ns, string source, string address)
    {
        try
        {
            ns.Exec("ping", $"-c 3 -i 0.2 -W 2 -I {source} {address}");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static long SpoofedPackets(Netns a)
    {
        string rules = a.Exec("nft", "list chain inet rfilt pre");
        var m = System.Text.RegularExpressions.Regex.Match(rules, @"counter packets (\d+)");
        Assert.True(m.Success, rules);
        return long.Parse(m.Groups[1].Value);
    }

    private static long RxOf(Netns ns, string ifname, string peer)
    {
        foreach (var line in ns.Exec("wg", $"show {ifname} transfer").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            if (f[0] == peer)
                return long.Parse(f[1]);
        }
        return -1;
    }
}
