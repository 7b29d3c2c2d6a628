using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Sticky but not too sticky: A (routerd) has two addresses on its outer interface and B talks to the secondary one.
/// routerd answers from the address B used (so B, which updates its endpoint from every authenticated packet, keeps
/// seeing the secondary), although the kernel would pick the primary. When that address is removed from A, routerd
/// falls over to the remaining one and B learns A's new endpoint from the next packet.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class StickySourceTests
{
    [RootTheory]
    [InlineData("192.0.2.11", "192.0.2.1", false)]
    [InlineData("2001:db8::11", "2001:db8::1", true)]
    public void RepliesFromTheAddressUsedThenFallsOver(string secondary, string primary, bool v6)
    {
        using var pair = new TunnelPair(Implementations.Routerd, Implementations.WireguardGo, ipv6Outer: v6);
        string prefix = v6 ? "64" : "24";
        pair.A.Ip($"addr add {secondary}/{prefix} dev {pair.VethA}{(v6 ? " nodad" : "")}");
        string at(string ip) => v6 ? $"[{ip}]:51820" : $"{ip}:51820";
        pair.WgB($"set {pair.IfB} peer {pair.PubA} endpoint {at(secondary)}");

        // B speaks first, to the secondary address; then traffic both ways.
        Assert.True(pair.PingFromB("10.99.0.1", count: 3));
        Assert.True(pair.PingFromA("10.99.0.2", count: 3));
        Assert.True(pair.PingFromB("fd99::1", count: 2));
        Assert.Equal(at(secondary), EndpointOfA(pair));

        // Remove the address routerd was sending from: it must fall over to the other one, and B follow.
        pair.A.Ip($"addr del {secondary}/{prefix} dev {pair.VethA}");
        Assert.True(Wait.Until(() => pair.PingFromA("10.99.0.2", count: 1), 10_000), "A reaches B again after losing its source address");
        Assert.Equal(at(primary), EndpointOfA(pair));
        Assert.True(pair.PingFromB("10.99.0.1", count: 2), "B reaches A at the new endpoint");
    }

    private static string EndpointOfA(TunnelPair pair) => WgOut.Pairs(pair.WgB($"show {pair.IfB} endpoints"))[pair.PubA];
}
