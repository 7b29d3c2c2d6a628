using System.Diagnostics;
using System.Net;
using System.Text;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Large configurations through the real wg(8): one peer with 130,560 allowed IPs (255 x 256 IPv4 /16 and as many
/// IPv6 /128), and 40 peers with 52 allowed IPs each, set with `wg setconf` and read back intact (as sets) with
/// `wg show IF allowed-ips` and `wg showconf`. The time each step takes is printed.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class LargeConfigTests
{
    [RootFact]
    public void OnePeerWith130560AllowedIps()
    {
        string peer = Wg.PubKey(Wg.GenKey());
        var ips = new List<string>(130_560);
        for (int i = 1; i <= 255; i++)
            for (int j = 0; j < 256; j++)
                ips.Add($"{i}.{j}.0.0/16");
        for (int i = 1; i <= 255; i++)
            for (int j = 0; j < 256; j++)
                ips.Add($"fd00:{i:x}::{j:x}/128");
        Assert.Equal(130_560, ips.Count);
        RoundTrip(new Dictionary<string, List<string>> { [peer] = ips });
    }

    [RootFact]
    public void FortyPeersWith52AllowedIpsEach()
    {
        var peers = new Dictionary<string, List<string>>();
        for (int p = 0; p < 40; p++)
        {
            var ips = new List<string>();
            for (int k = 0; k < 26; k++)
                ips.Add($"10.{p}.{k}.0/24");
            for (int k = 0; k < 26; k++)
                ips.Add($"fd{p:x2}:{k:x}::/64");
            peers[Wg.PubKey(Wg.GenKey())] = ips;
        }
        RoundTrip(peers);
    }

    private static void RoundTrip(Dictionary<string, List<string>> peers)
    {
        using var lab = new Lab();
        var ns = lab.Ns("big");
        string ifname = lab.NewName("bg");
        lab.Daemon(ns, Implementations.Routerd, ifname);

        var conf = new StringBuilder($"[Interface]\nPrivateKey = {Wg.GenKey()}\nListenPort = 51820\n");
        foreach (var (key, ips) in peers)
        {
            conf.Append($"\n[Peer]\nPublicKey = {key}\n");
            foreach (var chunk in ips.Chunk(1000)) // several AllowedIPs lines, as a generated file would have
                conf.Append($"AllowedIPs = {string.Join(", ", chunk)}\n");
        }
        string file = lab.File(conf.ToString(), "big.conf");

        var watch = Stopwatch.StartNew();
        ns.Exec("wg", $"setconf {ifname} {file}");
        long setMs = watch.ElapsedMilliseconds;
        watch.Restart();
        string shown = ns.Exec("wg", $"show {ifname} allowed-ips");
        long showMs = watch.ElapsedMilliseconds;
        watch.Restart();
        string showconf = ns.Exec("wg", $"showconf {ifname}");
        long showconfMs = watch.ElapsedMilliseconds;
        int total = peers.Values.Sum(l => l.Count);
        Console.WriteLine($"{peers.Count} peer(s), {total} allowed IPs: wg setconf {setMs} ms, wg show allowed-ips {showMs} ms, wg showconf {showconfMs} ms");

        var expected = peers.ToDictionary(p => p.Key, p => Normalise(p.Value));

        var fromShow = new Dictionary<string, HashSet<string>>();
        foreach (var line in shown.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t');
            fromShow[parts[0]] = Normalise(parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        AssertSame(expected, fromShow, "wg show allowed-ips");

        var fromConf = new Dictionary<string, HashSet<string>>();
        string? current = null;
        foreach (var raw in showconf.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith("PublicKey = ", StringComparison.Ordinal))
                fromConf[current = line["PublicKey = ".Length..]] = [];
            else if (line.StartsWith("AllowedIPs = ", StringComparison.Ordinal) && current is not null)
                fromConf[current].UnionWith(Normalise(line["AllowedIPs = ".Length..].Split(", ")));
        }
        AssertSame(expected, fromConf, "wg showconf");
    }

    private static void AssertSame(Dictionary<string, HashSet<string>> expected, Dictionary<string, HashSet<string>> actual, string what)
    {
        Assert.True(expected.Keys.ToHashSet().SetEquals(actual.Keys), $"{what}: peers differ ({actual.Count} read back, {expected.Count} set)");
        foreach (var (key, set) in expected)
        {
            var got = actual[key];
            var missing = set.Except(got).Take(5).ToList();
            var extra = got.Except(set).Take(5).ToList();
            Assert.True(missing.Count == 0 && extra.Count == 0 && got.Count == set.Count,
                $"{what}: peer {key[..8]}: {got.Count} read back, {set.Count} set; missing e.g. [{string.Join(' ', missing)}], extra e.g. [{string.Join(' ', extra)}]");
        }
    }

    /// <summary>Canonical text (RFC 5952 for IPv6) so "fd00:1::0/128" and "fd00:1::/128" compare equal.</summary>
    private static HashSet<string> Normalise(IEnumerable<string> cidrs)
    {
        var set = new HashSet<string>();
        foreach (var c in cidrs)
        {
            var parts = c.Trim().Split('/');
            set.Add($"{IPAddress.Parse(parts[0])}/{parts[1]}");
        }
        return set;
    }
}
