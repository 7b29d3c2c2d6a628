using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// The image's own firewall (rootfs/image/etc/nftables.conf, input policy drop) in routerd's namespace: the listen
/// port follows router.json's listenPort with no hand edit, also across a reload of nftables.conf, and a handshake
/// the far side starts gets in only through it.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirewallPortsTests(ITestOutputHelper output)
{
    private static string ImageRuleset
    {
        get
        {
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Router.sln")))
                dir = Path.GetDirectoryName(dir);
            return Path.Combine(dir!, "rootfs/image/etc/nftables.conf");
        }
    }

    [RootFact]
    public void TheInputRuleFollowsListenPortAcrossApplyAndFirewallReload()
    {
        using var rig = new FirmwareRig();
        try
        {
            // The image's file, its include pointed at the rig's directory (the status socket's, as /run/router is on the image).
            string conf = Path.Combine(rig.Dir, "nftables.conf");
            File.WriteAllText(conf, File.ReadAllText(ImageRuleset).Replace("/run/router/", rig.Dir + "/", StringComparison.Ordinal));
            rig.A.Exec("nft", $"-f {conf}");
            Assert.Equal(["51820"], Ports(rig));

            rig.StartWireguardGo();
            rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} endpoint 192.0.2.1:51821");
            rig.WriteConfig(rig.Config(keepalive: 0, listenPort: 51821));
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            Assert.True(Wait.Until(() => Ports(rig) is ["51821"], 10_000), $"set after start: {string.Join(",", Ports(rig))}\n{rig.Log}");
            // routerd sends nothing first (no keepalive, no traffic): wireguard-go's initiation must pass the input chain.
            Assert.True(PingFromB(rig), "wireguard-go's handshake to 51821 did not get through the image's firewall");

            // systemctl reload nftables: the file recreates the set with its 51820, the include puts routerd's ports back.
            rig.A.Exec("nft", $"-f {conf}");
            Assert.Equal(["51821"], Ports(rig));

            // A new listenPort through a reload of router.json.
            rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} endpoint 192.0.2.1:51822");
            rig.WriteConfig(rig.Config(keepalive: 0, listenPort: 51822));
            Assert.True(Wait.Until(() => Ports(rig) is ["51822"], 15_000), $"set after the port change: {string.Join(",", Ports(rig))}\n{rig.Log}");
            rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} remove");
            rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} endpoint 192.0.2.1:51822 allowed-ips 10.77.0.1/32"); // a fresh session, started by B
            Assert.True(PingFromB(rig), "wireguard-go's handshake to 51822 did not get through after the port change");
            output.WriteLine(File.ReadAllText(Path.Combine(rig.Dir, "wireguard-ports.nft")));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void WithoutTheImagesFirewallRouterdSaysWhichPortToOpenAndRunsOn()
    {
        using var rig = new FirmwareRig();
        try
        {
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config(keepalive: 25));
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), "routerd run did not bring the interface up");
            Assert.True(rig.Ping("10.77.0.2"));
            Assert.Contains(rig.Output, l => l.Contains("firewall: no set inet router wireguard_ports here", StringComparison.Ordinal) && l.Contains("open UDP 51820", StringComparison.Ordinal));
            Assert.DoesNotContain(rig.Output, l => l.Contains("not fully applied", StringComparison.Ordinal));
            Assert.False(File.Exists(Path.Combine(rig.Dir, "wireguard-ports.nft")));
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    private static bool PingFromB(FirmwareRig rig)
    {
        try
        {
            rig.B.Exec("ping", "-c 3 -i 0.3 -W 2 10.77.0.1");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string[] Ports(FirmwareRig rig)
    {
        string set = rig.A.Exec("nft", "list set inet router wireguard_ports");
        int open = set.IndexOf("elements = {", StringComparison.Ordinal);
        if (open < 0)
            return [];
        int close = set.IndexOf('}', open);
        return set[(open + 12)..close].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
    }
}
