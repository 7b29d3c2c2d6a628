using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// `routerd check` on the gateway itself: it reads the addresses of the namespace it runs in and warns when a peer's
/// allowed IPs would route that LAN into the tunnel; in a namespace without that LAN it says nothing.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class CheckOwnAddressTests
{
    [RootFact]
    public void CheckWarnsAboutThisNamespacesLanOnly()
    {
        using var lab = new Lab();
        Netns site = lab.Ns("chk");
        Netns other = lab.Ns("chko");
        var (lan, _) = lab.Link(site, other); // the site's LAN port (a veth: this kernel has no dummy module)
        site.Ip($"addr add 192.168.50.10/24 dev {lan}");
        string key = lab.File(Wg.GenKey() + "\n");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string config = lab.File($$"""
            { "interfaces": { "wg0": { "privateKeyFile": "{{key}}", "addresses": ["10.10.0.1/24"],
                "peers": [ { "name": "hq", "publicKey": "{{Wg.PubKey(Wg.GenKey())}}", "allowedIps": ["192.168.50.0/24"] } ] } } }
            """, "router.json");

        var here = Bounded.Run("ip", ["netns", "exec", site.Name, Implementations.Routerd, "check", config], 20_000);
        Console.WriteLine(here.Stdout + here.Stderr);
        Assert.Equal(0, here.ExitCode);
        Assert.Contains($"interfaces.wg0.peers[0].allowedIps: warning: 192.168.50.0/24 covers 192.168.50.10/24, this machine's own address on {lan}", here.Stdout);

        var elsewhere = Bounded.Run("ip", ["netns", "exec", other.Name, Implementations.Routerd, "check", config], 20_000);
        Assert.Equal(0, elsewhere.ExitCode);
        Assert.DoesNotContain("warning:", elsewhere.Stdout);
        Assert.Contains("valid (1 interface, 1 peer, 0 warnings)", elsewhere.Stdout);
    }
}
