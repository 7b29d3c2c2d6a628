using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// A set of 60,000 peers through `wg addconf` while pings cross an established tunnel every 20 ms: the engine applies
/// the set in slices, so pings keep crossing and none waits for the whole set (one hold of the lock for the whole set
/// stalled pings for seconds). And the peer limit: a set beyond ROUTERD_PEER_LIMIT is refused whole with ENOSPC.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed partial class LargeSetStallTests
{
    [RootFact]
    public void SixtyThousandPeersDoNotStallAnEstablishedTunnel()
    {
        using var pair = new TunnelPair(Implementations.Routerd, Implementations.WireguardGo);
        Assert.True(pair.PingFromA("10.99.0.2"), "the tunnel did not come up");
        string file = Path.Combine(Path.GetTempPath(), $"{pair.IfA}-big-{Guid.NewGuid():N}.conf");
        try
        {
            File.WriteAllText(file, Peers(60_000, firstOctet: 172));
            using Process ping = Sh.Start("ip", $"netns exec {pair.A.Name} ping -i 0.02 -W 2 -w 300 10.99.0.2");
            var lines = new List<string>();
            ping.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
            ping.BeginOutputReadLine();
            Thread.Sleep(500);
            var watch = Stopwatch.StartNew();
            pair.WgA($"addconf {pair.IfA} {file}");
            long setMs = watch.ElapsedMilliseconds;
            Thread.Sleep(500);
            Procs.Signal(ping.Id, "INT"); // ping prints its summary and exits
            Assert.True(ping.WaitForExit(10_000), "ping did not stop");
            ping.WaitForExit();

            string all;
            lock (lines) all = string.Join('\n', lines);
            var rtts = RttRegex().Matches(all).Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
            Match summary = SummaryRegex().Match(all);
            Assert.True(summary.Success, $"no ping summary in: {all[^Math.Min(all.Length, 400)..]}");
            int sent = int.Parse(summary.Groups[1].Value, CultureInfo.InvariantCulture);
            int received = int.Parse(summary.Groups[2].Value, CultureInfo.InvariantCulture);
            double worst = rtts.Count > 0 ? rtts.Max() : double.NaN;
            int peers = pair.WgA($"show {pair.IfA} peers").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            Console.WriteLine($"wg addconf of 60,000 peers: {setMs} ms; pings {sent} sent, {received} answered, worst RTT {worst:F1} ms, " +
                $"{rtts.Count(r => r > 50)} over 50 ms, {rtts.Count(r => r > 200)} over 200 ms; peers now {peers}; load {File.ReadAllText("/proc/loadavg").Trim()}");
            Assert.Equal(60_001, peers);
            Assert.True(sent >= 20, $"only {sent} pings were sent");
            // The engine holds the lock 5 ms at a time. Holding it for the whole set stalls every ping for about the
            // set's whole duration (seconds: ping -W 2 counts them lost). The bounds tell the two apart and leave room
            // for a loaded 2-core CI machine, where ping, wireguard-go and routerd all wait for a core (at load 20
            // here: 3 of 488 lost, worst 377 ms; one run at load 5-17 saw a single 1,072 ms reply in a 9 s set).
            Assert.True(sent - received <= Math.Max(2, sent / 50), $"{sent - received} of {sent} pings lost while the set was applied (set took {setMs} ms)");
            Assert.True(worst < Math.Max(1000, setMs / 4), $"worst RTT {worst:F1} ms while a set of {setMs} ms was applied");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [RootFact]
    public void ASetBeyondThePeerLimitIsRefusedWhole()
    {
        using var pair = new TunnelPair(Implementations.Routerd, Implementations.WireguardGo,
            environment: new Dictionary<string, string> { ["ROUTERD_PEER_LIMIT"] = "50" });
        string over = Path.Combine(Path.GetTempPath(), $"{pair.IfA}-over-{Guid.NewGuid():N}.conf");
        string fits = Path.Combine(Path.GetTempPath(), $"{pair.IfA}-fits-{Guid.NewGuid():N}.conf");
        try
        {
            File.WriteAllText(over, Peers(50, firstOctet: 172)); // 1 + 50 = 51 > 50
            File.WriteAllText(fits, Peers(49, firstOctet: 173)); // 1 + 49 = 50
            var refused = Assert.Throws<InvalidOperationException>(() => pair.WgA($"addconf {pair.IfA} {over}"));
            Console.WriteLine($"over the limit: {refused.Message}");
            Assert.Contains("No space left on device", refused.Message);
            Assert.Single(pair.WgA($"show {pair.IfA} peers").Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.True(pair.PingFromA("10.99.0.2"), "the tunnel is down after a refused set");

            pair.WgA($"addconf {pair.IfA} {fits}");
            Assert.Equal(50, pair.WgA($"show {pair.IfA} peers").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }
        finally
        {
            File.Delete(over);
            File.Delete(fits);
        }
    }

    /// <summary>A wg(8) config of <paramref name="count"/> peers with random keys, one /32 each under FIRST.x.y.z.</summary>
    private static string Peers(int count, int firstOctet)
    {
        var conf = new StringBuilder(count * 110);
        Span<byte> key = stackalloc byte[32];
        for (int i = 0; i < count; i++)
        {
            RandomNumberGenerator.Fill(key);
            conf.Append("[Peer]\nPublicKey = ").Append(Convert.ToBase64String(key))
                .Append(CultureInfo.InvariantCulture, $"\nAllowedIPs = {firstOctet}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}/32\n\n");
        }
        return conf.ToString();
    }

    [GeneratedRegex(@"time=([0-9.]+) ms")]
    private static partial Regex RttRegex();

    [GeneratedRegex(@"(\d+) packets transmitted, (\d+) received")]
    private static partial Regex SummaryRegex();
}
