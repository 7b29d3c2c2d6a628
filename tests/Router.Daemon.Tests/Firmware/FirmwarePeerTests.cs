using System.Diagnostics;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// 'routerd peer add|remove|export' against a running 'routerd run' (namespace A) with real far ends: hq
/// (wireguard-go in B, from the start), site2 (wireguard-go in C, added with 'peer add') and phone (namespace D,
/// brought up by wg-quick from the file 'peer export' printed). No restart anywhere; refusals leave the file's bytes
/// and the running peers as they were.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirmwarePeerTests(ITestOutputHelper output)
{
    [RootFact]
    public void PeerAddBringsATunnelUpRemoveTakesItDownAndExportBringsUpTheFarSide()
    {
        using var rig = new FirmwareRig();
        string farIf = $"pd{rig.Tag}";
        string farConf = Path.Combine(rig.Dir, $"{farIf}.conf");
        Netns? d = null;
        try
        {
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config(keepalive: 25));
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up:\n" + rig.Log);
            Assert.True(rig.Ping("10.77.0.2"), "hq answers before any peer command");
            string config = $"--config {rig.ConfigPath}";

            // site2: wireguard-go in C, which knows A; A does not know it yet, so nothing answers.
            var c = rig.AddSite("pc", 3);
            string keyC = Wg.GenKey(), pubC = Wg.PubKey(keyC);
            string ifC = $"pc{rig.Tag}";
            rig.StartWireguardGo(c, ifC, $"[Interface]\nPrivateKey = {keyC}\nListenPort = 51820\n\n[Peer]\nPublicKey = {rig.PubA}\nEndpoint = 192.0.3.1:51820\nAllowedIPs = 10.77.0.0/24\n",
                $"addr add 10.77.0.3/24 dev {ifC}");
            Assert.False(rig.Ping("10.77.0.3", 1), "site2 answered before it was added");

            long hqHandshake = rig.LatestHandshake(rig.PubB);
            var watch = Stopwatch.StartNew();
            var add = rig.Cli($"peer add site2 --public-key {pubC} --allowed-ips 10.77.0.3/32 --endpoint 192.0.3.2:51820 --keepalive 25 {config}");
            output.WriteLine($"$ routerd peer add site2 ... -> exit {add.Exit} in {watch.ElapsedMilliseconds} ms\n{add.Stdout}{add.Stderr}");
            Assert.True(add.Exit == 0, add.Stdout + add.Stderr);
            Assert.Contains("applied", add.Stdout);
            Assert.Contains($"peer site2 added as interfaces.{rig.IfA}.peers[1] in {rig.ConfigPath}", add.Stdout);
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.3", 1), 20_000), "no tunnel to site2 after 'peer add':\n" + rig.Log);
            output.WriteLine($"site2 answers pings {watch.ElapsedMilliseconds} ms after 'peer add' started (load {File.ReadAllText("/proc/loadavg").Trim()})");
            Assert.Equal(hqHandshake, rig.LatestHandshake(rig.PubB)); // hq's session was not touched
            Assert.True(rig.Ping("10.77.0.2"), "hq still answers");
            Assert.False(rig.Routerd!.HasExited); // the same daemon: no restart

            // Refusals against the running daemon: exit 1, the path named, file and peers unchanged.
            byte[] bytes = File.ReadAllBytes(rig.ConfigPath);
            string peersBefore = rig.A.Exec("wg", $"show {rig.IfA} peers");
            foreach (var (args, expected) in new[]
            {
                ($"peer add x --public-key {pubC[..20]} --allowed-ips 10.88.0.0/24", $"interfaces.{rig.IfA}.peers[2].publicKey: error:"),
                ($"peer add site2 --public-key {Wg.PubKey(Wg.GenKey())} --allowed-ips 10.88.0.0/24", "duplicate peer name 'site2'"),
                ($"peer add x --public-key {pubC} --allowed-ips 10.88.0.0/24", $"duplicate public key, already used by interfaces.{rig.IfA}.peers[1]"),
                ($"peer add x --public-key {Wg.PubKey(Wg.GenKey())} --allowed-ips 10.78.0.128/25", $"10.78.0.128/25 overlaps 10.78.0.0/24, routed to peer 'hq' (interfaces.{rig.IfA}.peers[0].allowedIps[1])"),
                ("peer remove nobody", "no peer is named 'nobody'; the file has: hq, site2"),
            })
            {
                var r = rig.Cli($"{args} {config}");
                output.WriteLine($"$ routerd {args} -> exit {r.Exit}\n{r.Stderr}");
                Assert.Equal(1, r.Exit);
                Assert.Contains(expected, r.Stderr);
                Assert.Contains("nothing changed", r.Stderr);
                Assert.Equal(bytes, File.ReadAllBytes(rig.ConfigPath));
            }
            Assert.Equal(peersBefore, rig.A.Exec("wg", $"show {rig.IfA} peers"));

            // phone: added without an endpoint (it dials in), exported, brought up by wg-quick in D.
            d = rig.AddSite("pd", 4);
            string keyD = Wg.GenKey();
            var addPhone = rig.Cli($"peer add phone --public-key {Wg.PubKey(keyD)} --allowed-ips 10.77.0.4/32 {config}");
            Assert.True(addPhone.Exit == 0, addPhone.Stdout + addPhone.Stderr);
            var export = rig.Cli($"peer export phone --endpoint 192.0.4.1:51820 --keepalive 25 {config}");
            output.WriteLine($"$ routerd peer export phone --endpoint 192.0.4.1:51820 --keepalive 25\n{export.Stdout}{export.Stderr}");
            Assert.Equal(0, export.Exit);
            Assert.DoesNotContain(File.ReadAllText(Path.Combine(rig.Dir, "a.key")).Trim(), export.Stdout);
            Assert.Contains($"PublicKey = {rig.PubA}\n", export.Stdout);
            Assert.Contains("Address = 10.77.0.4/32\n", export.Stdout);
            Assert.Contains("AllowedIPs = 10.77.0.0/24\n", export.Stdout);
            // The far side fills in its own private key: the one line the export leaves to it.
            File.WriteAllText(farConf, export.Stdout.Replace("PrivateKey = <this device's private key: wg genkey>", $"PrivateKey = {keyD}"));
            File.SetUnixFileMode(farConf, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            var strip = Bounded.Run("ip", ["netns", "exec", d.Name, "wg-quick", "strip", farConf], 30_000);
            Assert.True(strip.ExitCode == 0, strip.Stderr);
            Assert.DoesNotContain("Address", strip.Stdout);
            Assert.Contains($"PrivateKey = {keyD}", strip.Stdout);
            // wg-quick up runs 'wg setconf' on the stripped file, adds the address and the AllowedIPs routes.
            var up = Bounded.Run("ip", ["netns", "exec", d.Name, "wg-quick", "up", farConf], 30_000, unset: ["LOG_LEVEL"]);
            output.WriteLine($"$ wg-quick up {farIf}.conf (in D) -> exit {up.ExitCode}\n{up.Stdout}{up.Stderr}");
            Assert.Equal(0, up.ExitCode);
            Assert.True(Wait.Until(() => WgQuickTests.TryPing(d, "10.77.0.1", 1), 20_000), "the exported file did not bring up a tunnel:\n" + rig.Log);
            Assert.True(rig.Ping("10.77.0.4"), "A reaches the phone");

            // remove site2: its tunnel goes, hq and phone stay.
            var remove = rig.Cli($"peer remove site2 {config}");
            output.WriteLine($"$ routerd peer remove site2 -> exit {remove.Exit}\n{remove.Stdout}{remove.Stderr}");
            Assert.True(remove.Exit == 0, remove.Stdout + remove.Stderr);
            Assert.Contains("peer site2 removed", remove.Stdout);
            string peers = rig.A.Exec("wg", $"show {rig.IfA} peers");
            Assert.DoesNotContain(pubC, peers);
            Assert.Contains(rig.PubB, peers);
            Assert.Contains(Wg.PubKey(keyD), peers);
            Assert.False(rig.Ping("10.77.0.3", 1), "site2 still answers after 'peer remove'");
            Assert.True(rig.Ping("10.77.0.2"), "hq answers after site2 left");
            Assert.True(rig.Ping("10.77.0.4"), "phone answers after site2 left");
            Assert.DoesNotContain("site2", File.ReadAllText(rig.ConfigPath));
            Assert.False(rig.Routerd!.HasExited);

            // The same commit-confirmed path as apply: a removal nobody confirms comes back on its own.
            string withPhone = File.ReadAllText(rig.ConfigPath);
            var unconfirmed = rig.Cli($"peer remove phone --confirm 3 {config}");
            output.WriteLine($"$ routerd peer remove phone --confirm 3 -> exit {unconfirmed.Exit}\n{unconfirmed.Stdout}{unconfirmed.Stderr}");
            Assert.True(unconfirmed.Exit == 0, unconfirmed.Stdout + unconfirmed.Stderr);
            Assert.Contains("routerd confirm", unconfirmed.Stdout);
            Assert.DoesNotContain(Wg.PubKey(keyD), rig.A.Exec("wg", $"show {rig.IfA} peers"));
            watch.Restart();
            Assert.True(Wait.Until(() => rig.A.Exec("wg", $"show {rig.IfA} peers").Contains(Wg.PubKey(keyD)), 15_000), "the unconfirmed removal was not rolled back:\n" + rig.Log);
            output.WriteLine($"unconfirmed 'peer remove' rolled back {watch.ElapsedMilliseconds} ms after the command returned");
            Assert.Equal(withPhone, File.ReadAllText(rig.ConfigPath));
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.4", 1), 20_000), "phone does not answer after the rollback");
        }
        finally
        {
            if (d is not null && File.Exists(farConf))
            {
                try
                {
                    Bounded.Run("ip", ["netns", "exec", d.Name, "wg-quick", "down", farConf], 30_000);
                }
                catch (TimeoutException) { }
            }
            File.Delete($"/var/run/wireguard/{farIf}.sock");
            output.WriteLine(rig.Log);
        }
    }
}
