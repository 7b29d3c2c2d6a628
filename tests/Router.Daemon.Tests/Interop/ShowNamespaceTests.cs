using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// /var/run/wireguard is shared by every network namespace: `routerd show` in a namespace must list only the
/// interfaces that are there, and say which sockets belong elsewhere, instead of silently listing their peers.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class ShowNamespaceTests
{
    [RootFact]
    public void ShowListsOnlyThisNamespacesInterfacesAndNamesTheOthers()
    {
        using var pair = new TunnelPair(Implementations.Routerd, Implementations.WireguardGo);
        Assert.True(pair.PingFromA("10.99.0.2"), "the tunnel did not come up");
        using var lab = new Lab();
        Netns empty = lab.Ns("show");
        var env = new Dictionary<string, string> { ["ROUTERD_STATUS_SOCKET"] = "/nonexistent/status.sock" };

        var here = Bounded.Run("ip", ["netns", "exec", pair.A.Name, Implementations.Routerd, "show", pair.IfA], 20_000, env);
        Assert.Equal(0, here.ExitCode);
        Assert.Contains(pair.PubB[..8], here.Stdout);
        // The interface's own side from UAPI, as wg(8) shows it: the public key derived from the private one
        // (which never appears), the port, and the peer's allowed IPs.
        Console.WriteLine(here.Stdout);
        Assert.Contains($"interface: {pair.IfA}\n  public key: {pair.PubA}\n", here.Stdout);
        Assert.Matches(@"  listening port: [1-9][0-9]*\n", here.Stdout);
        Assert.Contains("    allowed ips: ", here.Stdout);
        Assert.DoesNotContain("(none)", here.Stdout.Split('\n').First(l => l.Contains("allowed ips", StringComparison.Ordinal)));
        Assert.DoesNotContain(pair.KeyA, here.Stdout);

        var all = Bounded.Run("ip", ["netns", "exec", empty.Name, Implementations.Routerd, "show"], 20_000, env);
        Console.WriteLine($"show in an empty namespace: exit {all.ExitCode}, stdout [{all.Stdout.Trim()}], stderr [{all.Stderr.Trim()}]");
        Assert.DoesNotContain(pair.PubB[..8], all.Stdout);
        Assert.DoesNotContain(pair.IfA, all.Stdout);
        Assert.Contains("no WireGuard interface in this network namespace", all.Stderr);
        Assert.Contains(pair.IfA, all.Stderr);

        var named = Bounded.Run("ip", ["netns", "exec", empty.Name, Implementations.Routerd, "show", pair.IfA], 20_000, env);
        Assert.Equal(1, named.ExitCode);
        Assert.Contains($"{pair.IfA} is not in this network namespace", named.Stderr);
        Assert.DoesNotContain(pair.PubB[..8], named.Stdout);
    }
}
