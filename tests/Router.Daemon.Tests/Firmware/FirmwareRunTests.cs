using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// 'routerd run --config' for real: routerd in one network namespace, wireguard-go in another. Bring-up (addresses,
/// routes, nftables, forwarding, wg show, routerd show), sd_notify, a reload that must not disturb a live session,
/// an invalid reload that must change nothing, and apply/confirm with their rollbacks.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed partial class FirmwareRunTests(ITestOutputHelper output)
{
    [RootFact]
    public void RunBringsUpTheLinkReloadsOnlyTheDifferenceAndRefusesABadFile()
    {
        using var rig = new FirmwareRig();
        using var notify = new NotifyListener(Path.Combine(rig.Dir, "notify.sock"));
        try
        {
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config(keepalive: 25));
            rig.StartRouterd(notify.Path);
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");

            // (f) sd_notify: READY=1 with a STATUS
            Assert.True(Wait.Until(() => notify.Has("READY=1"), 10_000), "READY=1 not received");
            Assert.Contains(notify.Messages, m => m.Contains("STATUS=1 interface(s), 1 peer(s)"));

            // (a) link state in A's namespace
            string addr = rig.A.Ip($"-4 addr show dev {rig.IfA}");
            Assert.Contains("10.77.0.1/24", addr);
            Assert.Contains("mtu 1420", rig.A.Ip($"link show dev {rig.IfA}"));
            string routes = rig.A.Ip("-4 route show");
            Assert.Matches($"10.78.0.0/24 dev {rig.IfA}", routes);
            Assert.DoesNotMatch($"10.77.0.2 dev {rig.IfA}", routes); // covered by the address's own prefix
            string nft = rig.A.Exec("nft", "list table inet routerd");
            Assert.Contains($"oifname \"{rig.VethA}\" masquerade", nft);
            Assert.Contains("maxseg size set rt mtu", nft);
            Assert.Equal("1", rig.A.Exec("cat", "/proc/sys/net/ipv4/ip_forward").Trim());
            Assert.True(rig.Ping("10.77.0.2"), "ping through the tunnel to wireguard-go");
            Assert.True(rig.Ping("10.78.0.1"), "ping to the peer's LAN prefix (route per allowed IP)");
            string show = rig.A.Exec("wg", $"show {rig.IfA}");
            Assert.Contains(rig.PubB, show);
            Assert.Contains("latest handshake", show);

            // routerd show, from the daemon's status socket: names and states
            Assert.True(Wait.Until(() => rig.Cli("show --json").Stdout.Contains("\"hq\""), 5_000));
            using (var doc = JsonDocument.Parse(rig.Cli("show --json").Stdout))
            {
                var peer = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0];
                Assert.Equal("hq", peer.GetProperty("name").GetString());
                Assert.Equal("192.0.2.2:51820", peer.GetProperty("endpoint").GetString());
                Assert.Contains(peer.GetProperty("state").GetString(), new[] { "up", "traffic" });
                Assert.True(peer.GetProperty("rxBytes").GetInt64() > 0);
            }
            var text = rig.Cli($"show {rig.IfA}");
            Assert.Equal(0, text.Exit);
            Assert.Contains("peer: hq", text.Stdout);
            output.WriteLine(text.Stdout);

            // (b) a reload that adds an unrelated peer: hq's session, handshake and counters stay; a ping loses nothing
            long handshake = rig.LatestHandshake(rig.PubB);
            Assert.True(handshake > 0);
            string other = Wg.PubKey(Wg.GenKey());
            using (var ping = rig.A.Start("ping", "-c 60 -i 0.05 -W 1 10.77.0.2"))
            {
                Thread.Sleep(600);
                var reloadWatch = Stopwatch.StartNew();
                rig.WriteConfig(rig.Config(keepalive: 25, extraPeers: FirmwareRig.ExtraPeer("branch2", other, "10.79.0.0/24")));
                rig.Signal("HUP");
                Assert.True(Wait.Until(() => rig.A.Exec("wg", $"show {rig.IfA} peers").Contains(other), 5_000), "the new peer did not appear");
                output.WriteLine($"reload applied in {reloadWatch.ElapsedMilliseconds} ms (file rename + SIGHUP → peer visible in wg show)");
                var (sent, received) = PingResult(ping);
                output.WriteLine($"ping through the reload: {sent} sent, {received} received");
                Assert.Equal(60, sent);
                Assert.Equal(sent, received);
            }
            Assert.Equal(handshake, rig.LatestHandshake(rig.PubB));
            Assert.Contains("10.79.0.0/24", rig.A.Ip("-4 route show"));
            Assert.True(Wait.Until(() => notify.Has("RELOADING=1"), 3_000), "RELOADING=1 not sent");
            Assert.Contains(notify.Messages, m => m.Contains("RELOADING=1") && m.Contains("MONOTONIC_USEC="));

            // (c) an invalid file: refused with the JSON path, nothing changes, traffic flows on
            using (var ping = rig.A.Start("ping", "-c 40 -i 0.05 -W 1 10.77.0.2"))
            {
                Thread.Sleep(300);
                rig.WriteConfig(rig.Config(keepalive: 25, listenPort: 70000));
                Assert.True(Wait.Until(() => rig.Log.Contains($"interfaces.{rig.IfA}.listenPort"), 5_000), "the refused field's path was not logged:\n" + rig.Log);
                var (sent, received) = PingResult(ping);
                output.WriteLine($"ping through the refused reload: {sent} sent, {received} received");
                Assert.Equal(sent, received);
            }
            Assert.Contains(other, rig.A.Exec("wg", $"show {rig.IfA} peers"));
            Assert.Contains("the running configuration stays", rig.Log);
            Assert.True(rig.Ping("10.77.0.2"));
            // show says the file was refused while the running configuration works, and still lists the peers
            var refusedShow = rig.Cli("show");
            output.WriteLine(refusedShow.Stdout);
            Assert.Contains("configuration: running configuration OK; the file on disk was refused:", refusedShow.Stdout);
            Assert.Contains($"interfaces.{rig.IfA}.listenPort", refusedShow.Stdout);
            Assert.Contains("peer: hq", refusedShow.Stdout);

            // Clean shutdown: STOPPING=1, interface and nftables table gone
            Assert.True(rig.Stop(), "routerd did not exit on SIGTERM");
            Assert.True(Wait.Until(() => notify.Has("STOPPING=1"), 2_000));
            Assert.DoesNotContain(rig.IfA, rig.A.Ip("link show"));
            Assert.DoesNotContain("routerd", rig.A.Exec("nft", "list tables"));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void ApplyRollsBackUnconfirmedChangesAndChangesThatCutAPeerOff()
    {
        using var rig = new FirmwareRig();
        try
        {
            rig.StartWireguardGo();
            string original = rig.Config(keepalive: 25);
            rig.WriteConfig(original);
            rig.StartRouterd(env: new Dictionary<string, string> { ["ROUTERD_PROBE_TIMEOUT"] = "6" });
            Assert.True(rig.WaitForUapi());
            Assert.True(rig.Ping("10.77.0.2"), "the tunnel works before any apply");
            string other = Wg.PubKey(Wg.GenKey());
            string withOther = rig.Config(keepalive: 25, extraPeers: FirmwareRig.ExtraPeer("branch2", other, "10.79.0.0/24"));

            // --confirm 3 and no confirm: rolled back by the daemon
            var watch = Stopwatch.StartNew();
            var apply = rig.Cli("apply --confirm 3", stdin: withOther);
            Assert.True(apply.Exit == 0, apply.Stderr + apply.Stdout);
            Assert.Contains("routerd confirm", apply.Stdout);
            Assert.Contains(other, rig.A.Exec("wg", $"show {rig.IfA} peers"));
            Assert.True(Wait.Until(() => !rig.A.Exec("wg", $"show {rig.IfA} peers").Contains(other), 8_000), "not rolled back after 3 s");
            output.WriteLine($"unconfirmed apply rolled back after {watch.ElapsedMilliseconds} ms");
            Assert.Equal(original, File.ReadAllText(rig.ConfigPath));
            Assert.True(rig.Ping("10.77.0.2"));

            // --confirm 4 and confirm: stays
            apply = rig.Cli("apply - --confirm 4", stdin: withOther);
            Assert.True(apply.Exit == 0, apply.Stderr + apply.Stdout);
            var confirm = rig.Cli("confirm");
            Assert.True(confirm.Exit == 0, confirm.Stderr);
            Thread.Sleep(5_000);
            Assert.Contains(other, rig.A.Exec("wg", $"show {rig.IfA} peers"));
            Assert.Equal(withOther, File.ReadAllText(rig.ConfigPath));

            // The only up peer stops answering; an apply that touches it (keepalive) is rolled back
            Assert.True(rig.Ping("10.77.0.2"));
            rig.KillWireguardGo();
            string touched = rig.Config(keepalive: 5, extraPeers: FirmwareRig.ExtraPeer("branch2", other, "10.79.0.0/24"));
            watch.Restart();
            apply = rig.Cli("apply", stdin: touched);
            output.WriteLine($"apply with a silent peer: exit {apply.Exit} after {watch.ElapsedMilliseconds} ms: {apply.Stdout.Trim()}");
            Assert.Equal(1, apply.Exit);
            Assert.Contains("rolled back", apply.Stdout);
            Assert.Contains("hq", apply.Stdout);
            Assert.Equal(withOther, File.ReadAllText(rig.ConfigPath));
            Assert.Contains("\t25", rig.A.Exec("wg", $"show {rig.IfA} persistent-keepalive"));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    internal static (int Sent, int Received) PingResult(Process ping)
    {
        string text = ping.StandardOutput.ReadToEnd();
        if (!ping.WaitForExit(15_000))
        {
            ping.Kill();
            throw new TimeoutException("ping did not finish");
        }
        var m = Summary().Match(text);
        Assert.True(m.Success, "no ping summary: " + text);
        return (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value));
    }

    [GeneratedRegex(@"(\d+) packets transmitted, (\d+) received")]
    private static partial Regex Summary();
}

[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirmwareStartTests(ITestOutputHelper output)
{
    /// <summary>
    /// A bad file at start never leaves the box dark: routerd stays up, tells systemd why it waits, and comes up as
    /// soon as a valid file appears. Also: metrics when enabled, and 'routerd show' without a daemon (UAPI).
    /// </summary>
    [RootFact]
    public void StartsWaitingOnABadFileAndComesUpWhenAValidOneAppears()
    {
        using var rig = new FirmwareRig();
        using var notify = new NotifyListener(Path.Combine(rig.Dir, "notify.sock"));
        try
        {
            rig.StartWireguardGo();
            rig.WriteConfig("{ \"interfaces\": { \"" + rig.IfA + "\": { \"listenPort\": 51820, } ");
            rig.StartRouterd(notify.Path);
            Assert.True(Wait.Until(() => notify.Messages.Any(m => m.Contains("READY=1") && m.Contains("STATUS=waiting for a valid configuration")), 10_000),
                "no READY=1 with a waiting STATUS:\n" + string.Join("\n", notify.Messages) + "\n" + rig.Log);
            Assert.False(rig.Routerd!.HasExited);
            Assert.True(Wait.Until(() => rig.Log.Contains("waiting for a valid configuration"), 3_000), rig.Log);
            // show says why nothing runs (not "no interfaces")
            string waiting = "";
            Assert.True(Wait.Until(() => (waiting = rig.Cli("show").Stdout).Contains("configuration: waiting for a valid configuration"), 10_000),
                "routerd show while waiting:\n" + waiting);
            output.WriteLine(waiting);
            Assert.Contains("not valid JSON", waiting);
            Assert.DoesNotContain("no interfaces", waiting);

            // 'routerd show' in B's namespace for B's interface (no firmware daemon there): straight from wireguard-go's UAPI socket
            var show = Bounded.Run("ip", ["netns", "exec", rig.B.Name, Implementations.Routerd, "show", rig.IfB, "--json"], 30_000,
                new Dictionary<string, string> { ["ROUTERD_STATUS_SOCKET"] = rig.StatusSocket + ".absent" });
            Assert.True(show.ExitCode == 0, show.Stderr);
            Assert.True(show.Stdout.Contains(rig.PubA), "routerd show via wireguard-go's UAPI socket:\n" + show.Stdout);

            string valid = rig.Config(keepalive: 25).Replace("\"state\":", "\"metrics\": { \"enabled\": true, \"listen\": \"127.0.0.1:9586\" },\n  \"state\":");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            rig.WriteConfig(valid);
            Assert.True(rig.WaitForUapi(10_000), "did not come up after a valid file appeared:\n" + rig.Log);
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 10_000), "no ping after coming up:\n" + rig.Log);
            output.WriteLine($"up and pinging {watch.ElapsedMilliseconds} ms after the valid file appeared");
            Assert.True(Wait.Until(() => notify.Has("STATUS=1 interface(s), 1 peer(s)"), 5_000));

            // Metrics are refreshed every engine tick (250 ms): poll briefly for the first refresh after bring-up.
            string metrics = "";
            Assert.True(Wait.Until(() => (metrics = FetchMetrics(rig)).Contains("peer=\"hq\""), 5_000), "metrics without peer hq:\n" + metrics);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    private static string FetchMetrics(FirmwareRig rig)
        => rig.A.Run(() =>
            {
                using var s = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                s.Connect(System.Net.IPAddress.Loopback, 9586);
                s.Send("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n"u8);
                var buffer = new MemoryStream();
                var chunk = new byte[8192];
                int n;
                while ((n = s.Receive(chunk)) > 0)
                    buffer.Write(chunk, 0, n);
                return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
            });
}
