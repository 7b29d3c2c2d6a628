using System.Collections.Concurrent;
using System.Diagnostics;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Tunnel health in the drop-in mode's log (`routerd -f IF` set up with wg(8)), against wireguard-go: while
/// wireguard-go's entry for routerd has a wrong key, routerd names that cause; once it is fixed, the peer is up again.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class DropInHealthTests(ITestOutputHelper output)
{
    [RootFact]
    public void AWrongKeyOnTheFarSideIsNamedThenTheFixBringsItUp()
    {
        using var lab = new Lab();
        var a = lab.Ns("ha");
        var b = lab.Ns("hb");
        var (va, vb) = lab.Link(a, b);
        a.Ip($"addr add 192.0.2.1/24 dev {va}");
        b.Ip($"addr add 192.0.2.2/24 dev {vb}");
        string ifA = lab.NewName("ha"), ifB = lab.NewName("hb");
        string keyA = Wg.GenKey(), keyB = Wg.GenKey(), pubA = Wg.PubKey(keyA), pubB = Wg.PubKey(keyB);
        string wrong = Wg.PubKey(Wg.GenKey());

        var log = new ConcurrentQueue<string>();
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "netns", "exec", a.Name, Implementations.Routerd, "-f", ifA })
            psi.ArgumentList.Add(arg);
        psi.Environment["LOG_LEVEL"] = "info";
        var routerd = Process.Start(psi)!;
        lab.Own(routerd);
        routerd.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        routerd.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        routerd.BeginOutputReadLine();
        routerd.BeginErrorReadLine();
        try
        {
            Assert.True(Wait.Until(() => routerd.HasExited || TunnelPair.IsServing(Lab.Socket(ifA)), 15_000) && !routerd.HasExited, "routerd did not come up");
            lab.SetConf(a, ifA, WgOut.Conf(keyA, 51820, (pubB, "192.0.2.2:51820", "10.96.0.2/32", 25)));
            a.Ip($"addr add 10.96.0.1/24 dev {ifA}");
            a.Ip($"link set {ifA} up");
            lab.Daemon(b, Implementations.WireguardGo, ifB);
            lab.SetConf(b, ifB, WgOut.Conf(keyB, 51820, (wrong, "192.0.2.1:51820", "10.96.0.1/32", 1)));
            b.Ip($"addr add 10.96.0.2/24 dev {ifB}");
            b.Ip($"link set {ifB} up");

            var watch = Stopwatch.StartNew();
            string peer = pubB[..8] + "…";
            string down = $"ERROR: ({ifA}) peer {peer} down: handshakes rejected; 192.0.2.2:51820 sends handshakes for another public key (bad mac1)";
            Assert.True(Wait.Until(() => log.Any(l => l.StartsWith(down, StringComparison.Ordinal)), 20_000), "no wrong-key line:\n" + string.Join("\n", log));
            output.WriteLine($"wrong-key line after {watch.ElapsedMilliseconds} ms (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");

            // The fix on the far side: its entry now names routerd's real key.
            b.Exec("wg", $"set {ifB} peer {wrong} remove");
            b.Exec("wg", $"set {ifB} peer {pubA} endpoint 192.0.2.1:51820 allowed-ips 10.96.0.1/32 persistent-keepalive 1");
            watch.Restart();
            string up = $"INFO: ({ifA}) peer {peer} up again after ";
            Assert.True(Wait.Until(() => log.Any(l => l.StartsWith(up, StringComparison.Ordinal)), 20_000), "no up-again line:\n" + string.Join("\n", log));
            output.WriteLine($"up-again line {watch.ElapsedMilliseconds} ms after the fix");
        }
        finally
        {
            output.WriteLine(string.Join("\n", log));
        }
    }
}
