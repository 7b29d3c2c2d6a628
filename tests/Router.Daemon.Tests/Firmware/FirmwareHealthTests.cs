using System.Diagnostics;
using System.Text.Json;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// Tunnel health in routerd's log against wireguard-go (issue 16): a working tunnel says "up"; a wrong public key on
/// either side is named in a "down" line within seconds, and 'routerd show' does not call the peer up.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirmwareHealthTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static string Load => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    [RootFact]
    public void AWorkingTunnelLogsUpOnce()
    {
        using var rig = new FirmwareRig();
        try
        {
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config(keepalive: 25));
            var watch = Stopwatch.StartNew();
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            string up = $"INFO: {rig.IfA}: peer hq up (handshake with 192.0.2.2:51820)";
            Assert.True(Wait.Until(() => rig.Output.Contains(up), (int)Bound.TotalMilliseconds), "no up line:\n" + rig.Log);
            output.WriteLine($"up line {watch.ElapsedMilliseconds} ms after start (load {Load})");
            Assert.True(rig.Ping("10.77.0.2"));
            Thread.Sleep(1000);
            Assert.Single(rig.Output, l => l.Contains("peer hq", StringComparison.Ordinal));

            // show: the gateway's own key and port, and per peer what it was configured with (issue 16 point 3).
            var text = rig.Cli("show");
            output.WriteLine(text.Stdout);
            Assert.Contains($"interface: {rig.IfA}\n  public key: {rig.PubA}\n  listening port: 51820\n", text.Stdout);
            Assert.Matches("    state: (up|traffic)\n", text.Stdout); // no reason while up
            Assert.Contains("    allowed ips: 10.77.0.2/32, 10.78.0.0/24\n", text.Stdout);
            Assert.Contains("    persistent keepalive: every 25 s\n", text.Stdout);
            using var doc = JsonDocument.Parse(rig.Cli("show --json").Stdout);
            var iface = doc.RootElement.GetProperty("interfaces")[0];
            Assert.Equal(rig.PubA, iface.GetProperty("publicKey").GetString());
            Assert.Equal(51820, iface.GetProperty("listenPort").GetInt32());
            var peer = iface.GetProperty("peers")[0];
            Assert.Equal(["10.77.0.2/32", "10.78.0.0/24"], peer.GetProperty("allowedIps").EnumerateArray().Select(i => i.GetString()!).ToArray());
            Assert.Equal(25, peer.GetProperty("persistentKeepalive").GetInt32());
            Assert.Equal(JsonValueKind.Null, peer.GetProperty("downReason").ValueKind);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void TheFarSideHavingTheWrongKeyForUsIsNamed()
    {
        using var rig = new FirmwareRig();
        try
        {
            // wireguard-go's entry for routerd names another key: its initiations fail routerd's mac1 check.
            rig.StartWireguardGo(peerPublicKey: Wg.PubKey(Wg.GenKey()), keepalive: 1);
            rig.WriteConfig(rig.Config(keepalive: 25));
            var watch = Stopwatch.StartNew();
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            rig.StartTracked(rig.B, "ping", "-c 40 -i 0.5 -W 1 10.77.0.1"); // makes wireguard-go initiate
            string down = $"ERROR: {rig.IfA}: peer hq down: handshakes rejected; 192.0.2.2:51820 sends handshakes for another public key (bad mac1): one side has the wrong public key (likely the far side's entry for this gateway)";
            Assert.True(Wait.Until(() => rig.Output.Contains(down), (int)Bound.TotalMilliseconds), "no wrong-key line:\n" + rig.Log);
            output.WriteLine($"wrong-key line {watch.ElapsedMilliseconds} ms after start (load {Load})");
            AssertNotUp(rig, "sends handshakes for another public key (bad mac1)");
            Assert.DoesNotContain(rig.Output, l => l.Contains("peer hq up", StringComparison.Ordinal));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void OurEntryHavingTheWrongKeyIsNamed()
    {
        using var rig = new FirmwareRig();
        try
        {
            // routerd's entry for hq names another key: hq's initiations come from a key routerd does not know.
            rig.StartWireguardGo(keepalive: 1);
            rig.WriteConfig(rig.Config(keepalive: 25).Replace(rig.PubB, Wg.PubKey(Wg.GenKey()), StringComparison.Ordinal));
            var watch = Stopwatch.StartNew();
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            rig.StartTracked(rig.B, "ping", "-c 40 -i 0.5 -W 1 10.77.0.1");
            string down = $"ERROR: {rig.IfA}: peer hq down: handshakes rejected; 192.0.2.2:51820 sends handshakes from a public key not configured here: one side has the wrong public key (likely this side's entry for hq)";
            Assert.True(Wait.Until(() => rig.Output.Contains(down), (int)Bound.TotalMilliseconds), "no wrong-key line:\n" + rig.Log);
            output.WriteLine($"unknown-key line {watch.ElapsedMilliseconds} ms after start (load {Load})");
            AssertNotUp(rig, "sends handshakes from a public key not configured here");
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    /// <summary>show does not call the peer up and gives the health log's reason, in both forms.</summary>
    private void AssertNotUp(FirmwareRig rig, string cause)
    {
        var show = rig.Cli("show --json");
        output.WriteLine(show.Stdout);
        using var doc = JsonDocument.Parse(show.Stdout);
        var peer = doc.RootElement.GetProperty("interfaces")[0].GetProperty("peers")[0];
        Assert.Equal("hq", peer.GetProperty("name").GetString());
        Assert.DoesNotContain(peer.GetProperty("state").GetString(), new[] { "up", "traffic" });
        Assert.Contains(cause, peer.GetProperty("downReason").GetString());
        var text = rig.Cli("show").Stdout;
        output.WriteLine(text);
        Assert.Matches($"    state: [a-z]+: handshakes rejected; .*{System.Text.RegularExpressions.Regex.Escape(cause)}", text);
    }
}
