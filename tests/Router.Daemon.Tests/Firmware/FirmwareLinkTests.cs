using System.Diagnostics;
using System.Text.Json;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// What 'routerd run' keeps in the kernel, read back with `ip -j`: a reload removes exactly the addresses and routes
/// it installed that the new file no longer has (others' entries and unchanged ones are not touched), an interface
/// dropped from the file is deleted, and an interface someone deletes under the daemon comes back whole.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirmwareLinkTests(ITestOutputHelper output)
{
    [RootFact]
    public void ReloadRemovesOnlyWhatRouterdInstalledAndTheFileNoLongerHas()
    {
        using var rig = new FirmwareRig();
        try
        {
            rig.StartWireguardGo();
            rig.WriteKey("a2.key", Wg.GenKey());
            string second = $"fz{rig.Tag}";
            string other = Wg.PubKey(Wg.GenKey());
            rig.WriteConfig(Json(rig, ["10.77.0.1/24", "10.76.0.1/24"], ["10.77.0.2/32", "10.78.0.0/24", "10.80.0.0/24"],
                FirmwareRig.ExtraPeer("branch2", other, "10.79.0.0/24"), second));
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);
            Assert.True(Wait.Until(() => Links(rig.A).Contains(second), 5_000), "the second interface did not come up:\n" + rig.Log);
            Assert.Equal(["10.76.0.1/24", "10.77.0.1/24"], Addresses(rig.A, rig.IfA));
            Assert.Equal(["10.76.0.0/24", "10.77.0.0/24", "10.78.0.0/24", "10.79.0.0/24", "10.80.0.0/24"], Routes(rig.A, rig.IfA));
            Assert.True(rig.Ping("10.78.0.1"), "no ping before the reload");

            // Someone else's address and route on the same interface: routerd must leave them alone.
            rig.A.Ip($"addr add 10.75.0.1/32 dev {rig.IfA}");
            rig.A.Ip($"route add 10.81.0.0/24 dev {rig.IfA} proto static");
            long handshake = rig.LatestHandshake(rig.PubB);
            var monitor = rig.StartTracked(rig.A, "ip", "-o monitor address route");
            Thread.Sleep(300);
            using (var ping = rig.A.Start("ping", "-c 40 -i 0.05 -W 1 10.78.0.1"))
            {
                Thread.Sleep(400);
                var watch = Stopwatch.StartNew();
                rig.WriteConfig(Json(rig, ["10.77.0.1/24", "10.74.0.1/24"], ["10.77.0.2/32", "10.78.0.0/24", "10.82.0.0/24"], "", second: null));
                string[] routes = ["10.74.0.0/24", "10.77.0.0/24", "10.78.0.0/24", "10.81.0.0/24", "10.82.0.0/24"];
                Assert.True(Wait.Until(() => Routes(rig.A, rig.IfA).SequenceEqual(routes) && !Links(rig.A).Contains(second), 10_000),
                    $"routes after the reload: {string.Join(" ", Routes(rig.A, rig.IfA))}\n{rig.Log}");
                output.WriteLine($"reload applied in the kernel {watch.ElapsedMilliseconds} ms after the file was renamed into place");
                var (sent, received) = FirmwareRunTests.PingResult(ping);
                output.WriteLine($"ping to a route that stayed, through the reload: {sent} sent, {received} received");
                Assert.Equal(sent, received);
            }
            Assert.Equal(["10.74.0.1/24", "10.75.0.1/32", "10.77.0.1/24"], Addresses(rig.A, rig.IfA));
            Assert.Equal(handshake, rig.LatestHandshake(rig.PubB));
            Assert.DoesNotContain(other, rig.A.Exec("wg", $"show {rig.IfA} peers"));
            Assert.False(File.Exists($"/var/run/wireguard/{second}.sock"), "the removed interface's UAPI socket is still there");
            Assert.True(rig.Ping("10.78.0.1"));

            monitor.Kill();
            monitor.WaitForExit(5_000);
            string events = monitor.StandardOutput.ReadToEnd();
            output.WriteLine("ip monitor during the reload:\n" + events);
            // Unchanged and foreign entries saw no event at all (no flap); removed ones were deleted.
            foreach (var untouched in new[] { "10.77.0.0/24", "inet 10.77.0.1/24", "10.78.0.0/24", "10.81.0.0/24", "10.75.0.1" })
                Assert.DoesNotContain(untouched, events);
            Assert.Contains(events.Split('\n'), l => l.StartsWith("Deleted") && l.Contains("10.80.0.0/24"));
            Assert.Contains(events.Split('\n'), l => l.StartsWith("Deleted") && l.Contains("inet 10.76.0.1/24"));
            Assert.Contains(events.Split('\n'), l => !l.StartsWith("Deleted") && l.Contains("10.82.0.0/24"));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void DeletedInterfaceIsRecreatedWithItsAddressesRoutesAndPeers()
    {
        using var rig = new FirmwareRig();
        try
        {
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config(keepalive: 25, extraPeers: FirmwareRig.ExtraPeer("branch2", Wg.PubKey(Wg.GenKey()), "10.79.0.0/24")));
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);
            Assert.True(rig.Ping("10.78.0.1"), "no ping before the deletion");
            var addresses = Addresses(rig.A, rig.IfA);
            var routes = Routes(rig.A, rig.IfA);
            string allowed = rig.A.Exec("wg", $"show {rig.IfA} allowed-ips");
            Assert.Equal(["10.77.0.1/24"], addresses);
            Assert.Equal(["10.77.0.0/24", "10.78.0.0/24", "10.79.0.0/24"], routes);

            for (int round = 1; round <= 2; round++)
            {
                var watch = Stopwatch.StartNew();
                rig.A.Ip($"link del {rig.IfA}");
                Assert.True(Wait.Until(() => Links(rig.A).Contains(rig.IfA) && Addresses(rig.A, rig.IfA).SequenceEqual(addresses)
                                             && Routes(rig.A, rig.IfA).SequenceEqual(routes), 15_000),
                    $"round {round}: not recreated with its addresses and routes:\n{rig.Log}");
                long back = watch.ElapsedMilliseconds;
                Assert.True(Wait.Until(() => rig.Ping("10.78.0.1", 1), 20_000), $"round {round}: no ping through the recreated interface:\n{rig.Log}");
                output.WriteLine($"round {round}: interface back with addresses and routes after {back} ms; ping through the tunnel after {watch.ElapsedMilliseconds} ms");
                Assert.Equal(allowed, rig.A.Exec("wg", $"show {rig.IfA} allowed-ips"));
                Assert.Contains("1420", rig.A.Ip($"link show dev {rig.IfA}"));
                Assert.True(Wait.Until(() => rig.Cli("show --json").Stdout.Contains("\"state\": \"up\"") || rig.Cli("show --json").Stdout.Contains("\"state\": \"traffic\""), 5_000),
                    "the state did not return to up: " + rig.Cli("show --json").Stdout);
            }
            Assert.False(rig.Routerd!.HasExited);
            Assert.Contains("recreated", rig.Log);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    private static string Json(FirmwareRig rig, string[] addresses, string[] hqAllowed, string extraPeers, string? second)
    {
        string list(string[] items) => string.Join(", ", items.Select(i => $"\"{i}\""));
        string secondInterface = second is null ? ""
            : $",\n    \"{second}\": {{ \"privateKeyFile\": \"{rig.Dir}/a2.key\", \"listenPort\": 51821, \"addresses\": [\"10.90.0.1/24\"], \"peers\": [] }}";
        return $$"""
            {
              "interfaces": {
                "{{rig.IfA}}": {
                  "privateKeyFile": "{{rig.Dir}}/a.key", "listenPort": 51820, "addresses": [{{list(addresses)}}],
                  "peers": [
                    { "name": "hq", "publicKey": "{{rig.PubB}}", "endpoint": "192.0.2.2:51820", "allowedIps": [{{list(hqAllowed)}}],
                      "persistentKeepalive": 25 }{{extraPeers}}
                  ]
                }{{secondInterface}}
              },
              "state": { "timestampFloorFile": "{{rig.Dir}}/timestamp-floor" }
            }
            """;
    }

    internal static string[] Links(Netns ns)
    {
        using var doc = JsonDocument.Parse(ns.Ip("-j link show"));
        return doc.RootElement.EnumerateArray().Select(l => l.GetProperty("ifname").GetString()!).ToArray();
    }

    /// <summary>The interface's IPv4 addresses as address/prefix, sorted ([] when it does not exist).</summary>
    internal static string[] Addresses(Netns ns, string ifName)
    {
        if (!Links(ns).Contains(ifName))
            return [];
        using var doc = JsonDocument.Parse(ns.Ip($"-4 -j addr show dev {ifName}"));
        return doc.RootElement.EnumerateArray()
            .SelectMany(l => l.GetProperty("addr_info").EnumerateArray())
            .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()}")
            .Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The main table's IPv4 routes through the interface, as prefixes, sorted.</summary>
    internal static string[] Routes(Netns ns, string ifName)
    {
        if (!Links(ns).Contains(ifName))
            return [];
        using var doc = JsonDocument.Parse(ns.Ip($"-4 -j route show dev {ifName}"));
        return doc.RootElement.EnumerateArray()
            .Select(r => r.GetProperty("dst").GetString()!)
            .Select(d => d.Contains('/') || d == "default" ? d : d + "/32")
            .Order(StringComparer.Ordinal).ToArray();
    }
}
