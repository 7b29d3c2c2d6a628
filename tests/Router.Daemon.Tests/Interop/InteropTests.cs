using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// routerd against the stock userspace peer (Debian's wireguard-go) and against itself, over a veth pair between two
/// network namespaces: handshake, ping, TCP and UDP transfers with the bytes checked, IPv4 and IPv6 inside and
/// outside the tunnel, and a tunnel MTU of 34736.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class InteropTests
{
    public static TheoryData<string, string> Pairs => new()
    {
        { "routerd", "wireguard-go" },
        { "wireguard-go", "routerd" },
        { "routerd", "routerd" },
    };

    private static string Program(string name) => name == "routerd" ? Implementations.Routerd : Implementations.WireguardGo;

    [RootTheory]
    [MemberData(nameof(Pairs))]
    public void PingBothFamiliesInsideOverIPv4Outside(string a, string b)
    {
        using var pair = new TunnelPair(Program(a), Program(b));
        Assert.True(pair.PingFromA("10.99.0.2"), "IPv4 ping A->B through the tunnel");
        Assert.True(pair.PingFromB("fd99::1"), "IPv6 ping B->A through the tunnel");
        string show = pair.WgA($"show {pair.IfA} latest-handshakes");
        Assert.DoesNotContain("\t0\n", show); // a handshake happened
    }

    [RootTheory]
    [MemberData(nameof(Pairs))]
    public void PingOverIPv6Outside(string a, string b)
    {
        using var pair = new TunnelPair(Program(a), Program(b), ipv6Outer: true);
        Assert.True(pair.PingFromA("10.99.0.2"), "IPv4 inside, IPv6 outside");
        Assert.True(pair.PingFromA("fd99::2"), "IPv6 inside, IPv6 outside");
    }

    [RootTheory]
    [MemberData(nameof(Pairs))]
    public void TcpAndUdpTransfersArriveIntact(string a, string b)
    {
        using var pair = new TunnelPair(Program(a), Program(b));
        Assert.True(pair.PingFromA("10.99.0.2"));
        StreamCheck.SendAndVerify(pair.A, pair.B, "10.99.0.2", 32 << 20);
        StreamCheck.SendAndVerify(pair.B, pair.A, "fd99::1", 32 << 20);
        // A bulk TCP transfer in each direction at full speed (batching under load), then UDP.
        var tcp = Iperf.Run(pair.A, pair.B, "10.99.0.2", 64L << 20);
        Assert.True(tcp.ReceivedBytes > 0);
        // UDP at a rate the slowest pair carries: loss stays small, and what arrives is counted by iperf3.
        // UDP has no retransmission, so loss is possible when the 2-core machine is busy: at a modest rate the
        // receiver must still get nearly everything (iperf3 counts what arrived by sequence number).
        var udp = Iperf.Run(pair.A, pair.B, "10.99.0.2", 10L << 20, udp: true, udpRate: "25M");
        Assert.True(udp.ReceivedBytes >= udp.SentBytes * 0.9, $"UDP received {udp.ReceivedBytes} of {udp.SentBytes}");
    }

    [RootTheory]
    [MemberData(nameof(Pairs))]
    public void JumboTunnelMtu34736(string a, string b)
    {
        using var pair = new TunnelPair(Program(a), Program(b), tunnelMtu: 34736, vethMtu: 65535);
        Assert.True(pair.PingFromA("10.99.0.2", size: 34000), "34000-byte ping through a 34736 MTU tunnel");
        StreamCheck.SendAndVerify(pair.A, pair.B, "10.99.0.2", 32 << 20);
        StreamCheck.SendAndVerify(pair.B, pair.A, "fd99::1", 32 << 20);
    }
}

/// <summary>
/// routerd against itself with the TUN offloads on (TSO/USO splitting on reads, GRO coalescing on writes) and off
/// (ROUTERD_TUN_OFFLOAD=0): TCP streams in both directions and both families, the bytes received compared with the
/// bytes sent. Issue 9's test.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class TunOffloadInteropTests
{
    [RootTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void TcpStreamsArriveIntactWithTunOffloads(bool offload)
    {
        var environment = new Dictionary<string, string> { ["ROUTERD_TUN_OFFLOAD"] = offload ? "1" : "0" };
        using var pair = new TunnelPair(Implementations.Routerd, Implementations.Routerd, environment: environment);
        Assert.True(pair.PingFromA("10.99.0.2"));
        StreamCheck.SendAndVerify(pair.A, pair.B, "10.99.0.2", 48 << 20);
        StreamCheck.SendAndVerify(pair.B, pair.A, "fd99::1", 48 << 20);
        Assert.Equal(0, Checksum.Errors(pair.A) + Checksum.Errors(pair.B));
    }
}

/// <summary>The kernel's TCP checksum error counter (/proc/net/snmp Tcp InCsumErrors) of a namespace.</summary>
internal static class Checksum
{
    public static long Errors(Netns ns)
    {
        string[] lines = ns.Exec("cat", "/proc/net/snmp").Split('\n');
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            if (!lines[i].StartsWith("Tcp:", StringComparison.Ordinal))
                continue;
            int at = Array.IndexOf(lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries), "InCsumErrors");
            return long.Parse(lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[at]);
        }
        throw new InvalidOperationException("no Tcp line in /proc/net/snmp");
    }
}

/// <summary>Interop tests share ports and CPU: run them one at a time.</summary>
[CollectionDefinition("Interop", DisableParallelization = true)]
public sealed class InteropCollection;
