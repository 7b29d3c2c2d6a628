using System.Text.Json.Nodes;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// The two configurations that wg-quick(8)'s EXAMPLES section walks through, rebuilt here with this test's own keys
/// and addresses: 'routerd import' turns each into router.json, 'routerd run' runs the result in a namespace, and
/// wireguard-go peers in other namespaces must complete a handshake and answer pings through it.
/// <list type="bullet">
/// <item>The client that tunnels all traffic: one Address, a DNS line, one peer with a pre-shared key, AllowedIPs
/// 0.0.0.0/0 and an endpoint (an address here: the namespace has no resolver).</item>
/// <item>The server with several peers: two Address lines, SaveConfig, a ListenPort, three peers without endpoints
/// whose AllowedIPs mix host routes, a prefix written with host bits set and a LAN; here with pre-shared keys added,
/// two peers present (wireguard-go in two namespaces) and the third never appearing.</item>
/// </list>
/// The man page's third example (Table with PostUp/PreDown policy-routing hooks) is about wg-quick's hooks, which
/// routerd does not run; the unit tests check that its import reports them.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class WgQuickExampleTests(ITestOutputHelper output)
{
    [RootFact]
    public void ClientTunnellingAllTrafficImportsAndRuns()
    {
        using var rig = new FirmwareRig();
        try
        {
            string psk = Sh.Run("wg", "genpsk").Trim();
            string conf = $"""
                [Interface]
                Address = 10.200.100.8/24
                DNS = 10.200.100.1
                PrivateKey = {rig.KeyA}

                [Peer]
                PublicKey = {rig.PubB}
                PresharedKey = {psk}
                AllowedIPs = 0.0.0.0/0
                Endpoint = 192.0.2.2:51820
                """;
            string stderr = Import(rig, conf);
            Assert.Contains("DNS", stderr); // reported: routerd configures no resolver

            rig.StartWireguardGo(rig.B, rig.IfB, $"[Interface]\nPrivateKey = {rig.KeyB}\nListenPort = 51820\n\n[Peer]\nPublicKey = {rig.PubA}\nPresharedKey = {psk}\nAllowedIPs = 10.200.100.8/32\n",
                $"addr add 10.200.100.1/24 dev {rig.IfB}", $"addr add 198.51.100.7/32 dev {rig.IfB}");
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);
            Assert.True(Wait.Until(() => rig.Ping("10.200.100.1", 1), 15_000), "no ping to the gateway's tunnel address:\n" + rig.Log);
            Assert.True(rig.LatestHandshake(rig.PubB) > 0);

            // routerd installs no default route itself (it would carry the tunnel's own packets on a real box) and says so.
            Assert.Contains("no route installed for 0.0.0.0/0", rig.Log);
            Assert.Equal("", rig.A.Ip("-4 route show default").Trim());
            // In the namespace the endpoint is on the veth's own prefix, so a default route through the tunnel cannot
            // loop: add it as the operator would, and traffic to any address goes through the 0.0.0.0/0 peer.
            rig.A.Ip($"route add default dev {rig.IfA}");
            Assert.True(rig.Ping("198.51.100.7"), "no ping to an address beyond the gateway over the default route:\n" + rig.Log);
            output.WriteLine(rig.A.Exec("wg", $"show {rig.IfA}"));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void ServerWithSeveralPeersAndPresharedKeysImportsAndRuns()
    {
        using var rig = new FirmwareRig();
        try
        {
            var site = rig.AddSite("fc", 3);
            string ifC = $"fc{rig.Tag}";
            string keyC = Wg.GenKey(), pubC = Wg.PubKey(keyC), absent = Wg.PubKey(Wg.GenKey());
            string pskB = Sh.Run("wg", "genpsk").Trim(), pskC = Sh.Run("wg", "genpsk").Trim();
            string conf = $"""
                [Interface]
                Address = 10.192.122.1/24
                Address = 10.10.0.1/16
                SaveConfig = true
                PrivateKey = {rig.KeyA}
                ListenPort = 51820

                [Peer]
                PublicKey = {rig.PubB}
                PresharedKey = {pskB}
                AllowedIPs = 10.192.122.3/32, 10.192.124.1/24

                [Peer]
                PublicKey = {pubC}
                PresharedKey = {pskC}
                AllowedIPs = 10.192.122.4/32, 192.168.0.0/16

                [Peer]
                PublicKey = {absent}
                AllowedIPs = 10.10.10.230/32
                """;
            string stderr = Import(rig, conf);
            Assert.Contains("SaveConfig", stderr);
            var json = JsonNode.Parse(File.ReadAllText(rig.ConfigPath))!;
            var peers = json["interfaces"]![rig.IfA]!["peers"]!.AsArray();
            Assert.Equal(3, peers.Count);
            foreach (var p in peers.Take(2))
            {
                string pskFile = p!["presharedKeyFile"]!.GetValue<string>();
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pskFile));
            }
            Assert.DoesNotContain(pskB, File.ReadAllText(rig.ConfigPath));

            // The clients know the server's endpoint; the server learns theirs from their handshakes.
            rig.StartWireguardGo(rig.B, rig.IfB,
                $"[Interface]\nPrivateKey = {rig.KeyB}\n\n[Peer]\nPublicKey = {rig.PubA}\nPresharedKey = {pskB}\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 10.192.122.0/24, 10.10.0.0/16\n",
                $"addr add 10.192.122.3/24 dev {rig.IfB}", $"addr add 10.192.124.1/24 dev {rig.IfB}", $"route add 10.10.0.0/16 dev {rig.IfB}");
            rig.StartWireguardGo(site, ifC,
                $"[Interface]\nPrivateKey = {keyC}\n\n[Peer]\nPublicKey = {rig.PubA}\nPresharedKey = {pskC}\nEndpoint = 192.0.3.1:51820\nAllowedIPs = 10.192.122.0/24, 10.10.0.0/16\n",
                $"addr add 10.192.122.4/24 dev {ifC}", $"addr add 192.168.1.1/24 dev {ifC}", $"route add 10.10.0.0/16 dev {ifC}");
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);

            Assert.True(Wait.Until(() => Ok(() => rig.B.Exec("ping", "-c 1 -W 1 10.192.122.1")), 15_000), "client B got no answer from the server:\n" + rig.Log);
            Assert.True(Wait.Until(() => Ok(() => site.Exec("ping", "-c 1 -W 1 10.192.122.1")), 15_000), "client C got no answer from the server:\n" + rig.Log);
            foreach (var address in new[] { "10.192.122.3", "10.192.124.1", "10.192.122.4", "192.168.1.1" })
                Assert.True(rig.Ping(address), $"no ping from the server to {address}:\n{rig.Log}");
            Assert.True(rig.LatestHandshake(rig.PubB) > 0);
            Assert.True(rig.LatestHandshake(pubC) > 0);
            Assert.Equal(0, rig.LatestHandshake(absent));

            // Host routes and 10.10.10.230/32 are inside the address prefixes; the rest get a route each.
            Assert.Equal(["10.10.0.0/16", "10.192.122.0/24", "10.192.124.0/24", "192.168.0.0/16"], FirmwareLinkTests.Routes(rig.A, rig.IfA));
            Assert.Equal(["10.10.0.1/16", "10.192.122.1/24"], FirmwareLinkTests.Addresses(rig.A, rig.IfA));
            output.WriteLine(rig.A.Exec("wg", $"show {rig.IfA}"));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    /// <summary>
    /// Writes the wg-quick file as IFNAME.conf and runs 'routerd import' into the rig's router.json (keys land beside
    /// it as 0600 files). Only the timestamp-floor path is added afterwards, so the test writes nothing outside its
    /// directory. Returns what import reported.
    /// </summary>
    private static string Import(FirmwareRig rig, string conf)
    {
        string confPath = Path.Combine(rig.Dir, $"{rig.IfA}.conf");
        File.WriteAllText(confPath, conf + "\n");
        var import = rig.Cli($"import {confPath} -o {rig.ConfigPath}");
        Assert.True(import.Exit == 0, import.Stderr);
        var json = JsonNode.Parse(File.ReadAllText(rig.ConfigPath))!;
        json["state"] = new JsonObject { ["timestampFloorFile"] = Path.Combine(rig.Dir, "timestamp-floor") };
        rig.WriteConfig(json.ToJsonString());
        return import.Stderr;
    }

    private static bool Ok(Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
