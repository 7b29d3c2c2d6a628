using System.Text.RegularExpressions;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// The same configuration given to routerd and to wireguard-go (each in its own namespace, so both can listen on the
/// same port) reads back identically through every `wg show` form and `wg showconf`: keys, PSKs, endpoints (IPv4 and
/// IPv6), keepalives, fwmark and allowed IPs of both families, in the same order. Then both carry traffic to a common
/// third peer and still agree once handshake times and transfer figures are normalised.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed partial class WgShowParityTests
{
    [RootFact]
    public void WgShowAndShowconfMatchWireguardGo()
    {
        using var lab = new Lab();
        var nsR = lab.Ns("pr");
        var nsG = lab.Ns("pg");
        string ifR = lab.NewName("pr"), ifG = lab.NewName("pg");
        lab.Daemon(nsR, Implementations.Routerd, ifR);
        lab.Daemon(nsG, Implementations.WireguardGo, ifG);

        string key = Wg.GenKey();
        string psk = Sh.Run("wg", "genpsk").Trim();
        var peers = Enumerable.Range(0, 5).Select(_ => Wg.PubKey(Wg.GenKey())).ToArray();
        string conf = $"""
            [Interface]
            PrivateKey = {key}
            ListenPort = 51820
            FwMark = 0x1234

            [Peer]
            PublicKey = {peers[0]}
            PresharedKey = {psk}
            Endpoint = 192.0.2.7:51820
            PersistentKeepalive = 25
            AllowedIPs = 10.7.0.0/16, 10.8.1.1/32, fd00:7::/48, 2001:db8:77::1/128, 0.0.0.0/1

            [Peer]
            PublicKey = {peers[1]}
            Endpoint = [2001:db8::99]:12345
            AllowedIPs = 10.9.0.0/24, ::/0

            [Peer]
            PublicKey = {peers[2]}
            AllowedIPs = 172.16.3.0/24, 172.16.2.0/24, 172.16.1.128/25

            [Peer]
            PublicKey = {peers[3]}
            PersistentKeepalive = 1

            [Peer]
            PublicKey = {peers[4]}
            Endpoint = 198.51.100.200:65535
            AllowedIPs = 192.168.0.0/16, fe80::/64
            """;
        // Interfaces up, with routes to every endpoint, so both implementations send their first keepalive/handshake
        // successfully. (Down or unroutable, routerd still sends and counts the bytes while wireguard-go does not:
        // a known difference, reported on issue 5; transfer figures are not compared here.)
        foreach (var (ns, ifname) in new[] { (nsR, ifR), (nsG, ifG) })
        {
            ns.Ip("link add x0 type veth peer name x1");
            ns.Ip("link set x0 up");
            ns.Ip("link set x1 up");
            foreach (var net in new[] { "192.0.2.100/24", "198.51.100.100/24", "203.0.113.100/24" })
                ns.Ip($"addr add {net} dev x0");
            ns.Ip("addr add 2001:db8::100/64 dev x0 nodad");
        }
        lab.SetConf(nsR, ifR, conf);
        lab.SetConf(nsG, ifG, conf);
        nsR.Ip($"link set {ifR} up");
        nsG.Ip($"link set {ifG} up");
        // A live change after setconf, the way wg-quick and scripts do it.
        foreach (var (ns, ifname) in new[] { (nsR, ifR), (nsG, ifG) })
            ns.Exec("wg", $"set {ifname} peer {peers[2]} allowed-ips 172.16.9.0/24,172.16.2.0/24 endpoint 203.0.113.5:1");

        CompareAll(nsR, ifR, nsG, ifG);
    }

    [RootFact]
    public void TransferCountersAndHandshakeMatchThePeer()
    {
        using var pair = new TunnelPair(Implementations.Routerd, Implementations.WireguardGo);
        Assert.True(pair.PingFromA("10.99.0.2", count: 5, size: 1000));
        Assert.True(pair.PingFromB("fd99::1", count: 3, size: 100));
        Thread.Sleep(300); // let the last reply be counted on both sides
        string[] a = pair.WgA($"show {pair.IfA} dump").Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Split('\t');
        string[] b = pair.WgB($"show {pair.IfB} dump").Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Split('\t');
        // peer lines: public-key psk endpoint allowed-ips latest-handshake rx tx keepalive
        Console.WriteLine($"routerd: rx {a[5]} tx {a[6]} handshake {a[4]}; wireguard-go: rx {b[5]} tx {b[6]} handshake {b[4]}");
        Assert.Equal(b[6], a[5]); // what wireguard-go sent is what routerd received
        Assert.Equal(b[5], a[6]);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.InRange(long.Parse(a[4]), now - 30, now + 1);
        Assert.InRange(long.Parse(a[4]), long.Parse(b[4]) - 2, long.Parse(b[4]) + 2);
        Assert.Equal("off", a[7]);
    }

    private static void CompareAll(Netns nsR, string ifR, Netns nsG, string ifG)
    {
        // (`wg show all` and `wg show interfaces` list every socket in /var/run/wireguard, shared by all namespaces.)
        string[] forms = ["", "dump", "public-key", "private-key", "listen-port", "fwmark", "peers", "endpoints",
            "allowed-ips", "latest-handshakes", "persistent-keepalive", "preshared-keys", "transfer"];
        foreach (string form in forms)
        {
            string r = Normalise(nsR.Exec("wg", $"show {ifR} {form}"), ifR);
            string g = Normalise(nsG.Exec("wg", $"show {ifG} {form}"), ifG);
            Assert.True(g == r, $"`wg show {form}` differs.\n--- wireguard-go:\n{g}\n--- routerd:\n{r}");
        }
        string confR = Normalise(nsR.Exec("wg", $"showconf {ifR}"), ifR);
        string confG = Normalise(nsG.Exec("wg", $"showconf {ifG}"), ifG);
        Assert.True(confG == confR, $"`wg showconf` differs.\n--- wireguard-go:\n{confG}\n--- routerd:\n{confR}");
        Console.WriteLine($"`wg show {ifR}` (normalised) as printed by both:\n{Normalise(nsR.Exec("wg", $"show {ifR}"), ifR)}");
    }

    /// <summary>
    /// Replaces the interface name and the figures that legitimately differ between two runs, and puts peers in key
    /// order: wireguard-go lists its peers in Go map order, which changes from run to run (wg sorts them only by
    /// latest handshake). Allowed IPs keep their order: both list them as configured.
    /// </summary>
    private static string Normalise(string output, string ifname)
    {
        string s = output.Replace(ifname, "IF", StringComparison.Ordinal);
        s = HandshakeAgo().Replace(s, "latest handshake: T");
        // Transfer figures depend on timing (first handshakes, the kernel's IPv6 link-local chatter routed to the ::/0
        // peer) and `wg show` prints the line only when non-zero: drop it; X out the counters in dump and transfer.
        s = TransferLine().Replace(s, "");
        s = string.Join('\n', s.Split('\n').Select(line =>
        {
            var f = line.Split('\t');
            return f.Length switch
            {
                8 when f[4].All(char.IsAsciiDigit) => string.Join('\t', f[..4].Append("T").Append("X").Append("X").Concat(f[7..])), // dump peer
                3 when f[1].All(char.IsAsciiDigit) && f[2].All(char.IsAsciiDigit) => $"{f[0]}\tX\tX", // transfer
                2 when f[1].All(char.IsAsciiDigit) && f[1].Length > 3 => $"{f[0]}\tT", // latest-handshakes
                _ => line,
            };
        }));
        if (s.StartsWith("interface: ", StringComparison.Ordinal))
        {
            var blocks = s.TrimEnd('\n').Split("\n\n");
            return string.Join("\n\n", blocks.Take(1).Concat(blocks.Skip(1).Order(StringComparer.Ordinal))) + "\n";
        }
        if (s.StartsWith("[Interface]", StringComparison.Ordinal))
        {
            var sections = s.TrimEnd('\n').Split("\n\n[Peer]");
            return string.Join("\n\n[Peer]", sections.Take(1).Concat(sections.Skip(1).Order(StringComparer.Ordinal))) + "\n";
        }
        var lines = s.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join("\n", lines.Order(StringComparer.Ordinal)); // one line per peer (dump: plus the interface line)
    }

    [GeneratedRegex(@"latest handshake: [^\n]*")]
    private static partial Regex HandshakeAgo();

    [GeneratedRegex(@"\n  transfer: [^\n]*")]
    private static partial Regex TransferLine();
}
