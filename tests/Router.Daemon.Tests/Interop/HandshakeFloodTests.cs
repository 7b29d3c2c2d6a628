using System.Diagnostics;
using System.Globalization;
using System.Net;
using Router.Daemon.Tests.Firmware;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Handshake floods at the responder (issue 20), routerd and wireguard-go side by side in one run: the responder in
/// namespace A (routerd run, or wireguard-go), wireguard-go in B with an established tunnel, an attacker namespace
/// with 150 addresses. Each responder gets the same flood; routerd's figures are asserted, wireguard-go's printed.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class HandshakeFloodTests(ITestOutputHelper output)
{
    private const int Sources = 150;

    /// <summary>
    /// ~200 initiations a second with a wrong mac1 (no key knowledge needed) must not put the responder under load:
    /// wireguard-go's fresh handshake completes at once, with no cookie round trip (which costs a REKEY_TIMEOUT, 5 s).
    /// The 2026 failure: routerd counted load before checking mac1, and the first ping took 5.0 s.
    /// </summary>
    [RootFact]
    public void AWrongMac1TrickleNeverDelaysAFreshHandshake()
    {
        var routerd = Trickle(useRouterd: true);
        var wgGo = Trickle(useRouterd: false);
        output.WriteLine($"wrong-mac1 initiations at ~200/s for {TrickleTime.TotalSeconds:0} s; fresh handshakes, first ping (worst of {Rehandshakes}):");
        output.WriteLine($"  routerd      {Ms(routerd.Worst)} ms (each: {string.Join(", ", routerd.Each.Select(Ms))}); sent {routerd.Sent} at {routerd.Rate:0}/s; BadMac1 +{routerd.BadMac1}, CookieRequired +{routerd.Cookies}");
        output.WriteLine($"  wireguard-go {Ms(wgGo.Worst)} ms (each: {string.Join(", ", wgGo.Each.Select(Ms))}); sent {wgGo.Sent} at {wgGo.Rate:0}/s");
        output.WriteLine($"load average {File.ReadAllText("/proc/loadavg").Trim()}");

        Assert.True(routerd.Rate >= 100, $"the flooder reached only {routerd.Rate:0} initiations/s");
        Assert.Equal(0, routerd.Cookies); // never under load: not one cookie reply
        Assert.True(routerd.BadMac1 >= routerd.Sent / 2, $"only {routerd.BadMac1} of {routerd.Sent} counted as BadMac1");
        // A cookie round trip costs 5 s; a first ping here takes milliseconds, 1 s leaves room for a loaded machine.
        Assert.True(routerd.Worst < 1.0, $"a fresh handshake took {routerd.Worst:0.00} s under a wrong-mac1 trickle");
    }

    private const int Rehandshakes = 3;
    private static readonly TimeSpan TrickleTime = TimeSpan.FromSeconds(6);

    private sealed record TrickleFigures(double Worst, double[] Each, long Sent, double Rate, long BadMac1, long Cookies);

    private TrickleFigures Trickle(bool useRouterd)
    {
        using var rig = new FirmwareRig();
        string metrics = Path.Combine(rig.Dir, "metrics.sock");
        StartResponder(rig, useRouterd, metrics);
        using var flooder = OpenFlooder(rig, validMac1: false);
        FloodTests.Figures? before = useRouterd ? FloodTests.Snapshot(rig, metrics, rig.Routerd!.Id) : null;

        using var stop = new CancellationTokenSource();
        var flood = Task.Run(() =>
        {
            var watch = Stopwatch.StartNew();
            flooder.Run(TrickleTime, 0, 200, stop.Token);
            return watch.Elapsed;
        });
        try
        {
            Thread.Sleep(1000); // the trickle is on before the first rehandshake
            var each = new double[Rehandshakes];
            for (int i = 0; i < each.Length; i++)
            {
                Thread.Sleep(500); // initiations < 20 ms apart are refused (flood guard), by both implementations
                each[i] = FloodTests.Rehandshake(rig);
            }
            Assert.True(!flood.IsCompleted, "the trickle ended before the last rehandshake");
            double seconds = flood.Result.TotalSeconds; // waits for the trickle's end
            double rate = flooder.InitiationsSent / seconds;
            long badMac1 = 0, cookies = 0;
            if (before is not null)
            {
                var after = FloodTests.Settled(rig, metrics, rig.Routerd!.Id, before);
                badMac1 = after.Drop("BadMac1") - before.Drop("BadMac1");
                cookies = after.Drop("CookieRequired") - before.Drop("CookieRequired") + after.Drop("CookieReplyLimited") - before.Drop("CookieReplyLimited");
                foreach (var (reason, n) in after.Drops)
                    if (n != before.Drop(reason))
                        output.WriteLine($"  routerd drop {reason} +{n - before.Drop(reason)}");
            }
            return new TrickleFigures(each.Max(), each, flooder.InitiationsSent, rate, badMac1, cookies);
        }
        finally
        {
            stop.Cancel();
            flood.Wait();
        }
    }

    /// <summary>
    /// Initiations with a valid mac1 (the attacker knows the responder's public key; random otherwise, so each costs
    /// a Diffie-Hellman unless a cookie is demanded) as fast as two sender threads go from 150 addresses, while the
    /// established tunnel is pinged: handshake work must not starve it. Then a fresh handshake during the flood
    /// (through the cookie round trip: one REKEY_TIMEOUT).
    /// </summary>
    [RootFact]
    public void AValidMac1FloodLeavesTheEstablishedTunnelAnswering()
    {
        var routerd = Flood(useRouterd: true);
        var wgGo = Flood(useRouterd: false);
        output.WriteLine($"valid-mac1 initiations from {Sources} addresses, two senders at full speed, {FloodTime.TotalSeconds:0} s; ping every 0.1 s through the established tunnel:");
        output.WriteLine($"  routerd      {routerd}");
        output.WriteLine($"  wireguard-go {wgGo}");
        output.WriteLine($"load average {File.ReadAllText("/proc/loadavg").Trim()}");

        Assert.True(routerd.Alive, "routerd died during the flood");
        Assert.True(routerd.During, "the flood ended before the fresh handshake did");
        Assert.True(routerd.Rate >= 5_000, $"the flooder reached only {routerd.Rate:0} initiations/s");
        // Bounds for a loaded 2-core machine where the flooder and wireguard-go share the cores with routerd.
        Assert.True(routerd.Loss <= 10, $"ping loss {routerd.Loss}% through the established tunnel during the flood");
        // Each try of the fresh initiator (every REKEY_TIMEOUT, 5 s) can die in the kernel's socket buffer, which the
        // flood keeps full: on a loaded CI machine it took more than 22 s once (the flood, then 30 s, ended first).
        // The bound allows six tries; RELIABILITY.md has the figures side by side with wireguard-go (5-16 s each).
        Assert.True(routerd.Fresh < 31, $"a fresh handshake took {routerd.Fresh:0.0} s during the flood (one cookie round trip: 5 s)");
    }

    private static readonly TimeSpan FloodTime = TimeSpan.FromSeconds(60); // at most: it stops once the fresh handshake is done

    private sealed record FloodFigures(double Rate, double Loss, string Rtt, double Fresh, double CpuPercent, long KernelDrops, string Drops, bool During, bool Alive)
    {
        public override string ToString() =>
            $"{Rate:0} initiations/s sent; ping loss {Loss}%, rtt min/avg/max {Rtt} ms; fresh handshake {Fresh * 1000:0} ms; " +
            $"responder CPU {CpuPercent:0}% of a core; socket buffer drops {KernelDrops}{(Drops.Length > 0 ? "; drops " + Drops : "")}" +
            (During ? "" : "; THE FLOOD ENDED FIRST") + (Alive ? "" : "; THE RESPONDER DIED");
    }

    private FloodFigures Flood(bool useRouterd)
    {
        using var rig = new FirmwareRig();
        string metrics = Path.Combine(rig.Dir, "metrics.sock");
        StartResponder(rig, useRouterd, metrics);
        int pid = useRouterd ? rig.Routerd!.Id : rig.Processes[0].Id; // ip netns exec execs the program: same pid
        using var flooder = OpenFlooder(rig, validMac1: true);
        FloodTests.Figures? before = useRouterd ? FloodTests.Snapshot(rig, metrics, pid) : null;
        long kernelBefore = RcvbufErrors(rig), cpuBefore = CpuTicks(pid);

        using var stop = new CancellationTokenSource();
        var watch = Stopwatch.StartNew();
        var floods = Enumerable.Range(0, 2).Select(_ => Task.Run(() => flooder.Run(FloodTime, 0, int.MaxValue, stop.Token))).ToArray();
        try
        {
            Thread.Sleep(1500); // the queue fills, cookies are demanded
            string ping = rig.B.Exec("ping", "-q -i 0.1 -c 60 -W 1 10.77.0.1"); // 6 s
            double fresh = FloodTests.Rehandshake(rig);
            bool during = floods.All(f => !f.IsCompleted);
            double seconds = watch.Elapsed.TotalSeconds;
            long sent = flooder.InitiationsSent;
            double cpu = (CpuTicks(pid) - cpuBefore) / seconds; // USER_HZ = 100: ticks per second = percent
            long kernel = RcvbufErrors(rig) - kernelBefore;
            stop.Cancel();
            Task.WaitAll(floods);
            var (loss, rtt) = FloodTests.ParsePing(ping);
            string drops = "";
            if (before is not null)
            {
                var after = FloodTests.Settled(rig, metrics, pid, before);
                drops = string.Join(", ", after.Drops.Where(d => d.Value != before.Drop(d.Key)).Select(d => $"{d.Key} +{d.Value - before.Drop(d.Key)}"));
            }
            bool alive = useRouterd ? !rig.Routerd!.HasExited : !rig.Processes[0].HasExited;
            return new FloodFigures(sent / seconds, loss, rtt, fresh, cpu, kernel, drops, during, alive);
        }
        finally
        {
            stop.Cancel();
            Task.WaitAll(floods);
        }
    }

    private static long CpuTicks(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture); // utime, stime
    }

    /// <summary>Udp: RcvbufErrors in A, where the responder's socket is the only one the flood reaches.</summary>
    private static long RcvbufErrors(FirmwareRig rig)
    {
        string[] snmp = rig.A.Exec("cat", "/proc/net/snmp").Split('\n').Where(l => l.StartsWith("Udp:", StringComparison.Ordinal)).ToArray();
        string[] names = snmp[0].Split(' '), values = snmp[1].Split(' ');
        return long.Parse(values[Array.IndexOf(names, "RcvbufErrors")], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The responder in A: routerd run (metrics on a unix socket) or wireguard-go with the same key and addresses;
    /// wireguard-go in B; the tunnel answers before the flood starts.
    /// </summary>
    internal static void StartResponder(FirmwareRig rig, bool useRouterd, string metricsSocket)
    {
        rig.StartWireguardGo();
        if (useRouterd)
        {
            rig.WriteConfig(rig.Config(keepalive: 0, leds: $"\"metrics\": {{ \"enabled\": true, \"listen\": \"unix:{metricsSocket}\" }},"));
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not come up");
        }
        else
        {
            rig.StartWireguardGo(rig.A, rig.IfA,
                $"[Interface]\nPrivateKey = {rig.KeyA}\nListenPort = 51820\n\n[Peer]\nPublicKey = {rig.PubB}\nEndpoint = 192.0.2.2:51820\nAllowedIPs = 10.77.0.2/32\n",
                $"addr add 10.77.0.1/24 dev {rig.IfA}", $"link set {rig.IfA} mtu 1420");
        }
        Assert.True(rig.Ping("10.77.0.2"), "no tunnel before the flood");
    }

    /// <summary>The attacker: its own namespace on a veth to A, <see cref="Sources"/> addresses, aiming at A's port.</summary>
    internal static Flooder OpenFlooder(FirmwareRig rig, bool validMac1)
    {
        Netns attacker = rig.AddSite("k", 9);
        var sources = Enumerable.Range(10, Sources).Select(i => IPAddress.Parse($"192.0.9.{i}")).ToList();
        string batch = rig.Dir + "/addrs";
        File.WriteAllLines(batch, sources.Select(a => $"addr add {a}/24 dev xks{rig.Tag}"));
        Sh.Run("ip", $"-n {attacker.Name} -batch {batch}");
        return Flooder.Open(attacker, sources, new IPEndPoint(IPAddress.Parse("192.0.9.1"), 51820), Convert.FromBase64String(rig.PubA), validMac1);
    }

    private static string Ms(double seconds) => (seconds * 1000).ToString("0", CultureInfo.InvariantCulture);
}
