using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// wg-quick drives routerd exactly as it drives wireguard-go (WG_QUICK_USERSPACE_IMPLEMENTATION): `wg-quick up` on a
/// config file inside a namespace creates the interface, its addresses and routes; traffic flows to a wireguard-go
/// peer; `wg-quick down` deletes the interface and routerd exits with its socket.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class WgQuickTests
{
    [RootFact]
    public void WgQuickUpPingDown()
    {
        using var lab = new Lab();
        var a = lab.Ns("qa");
        var b = lab.Ns("qb");
        var (va, vb) = lab.Link(a, b);
        a.Ip($"addr add 192.0.2.1/24 dev {va}");
        b.Ip($"addr add 192.0.2.2/24 dev {vb}");
        string ifA = lab.NewName("qa"), ifB = lab.NewName("qb");
        string keyA = Wg.GenKey(), keyB = Wg.GenKey();

        lab.Daemon(b, Implementations.WireguardGo, ifB);
        lab.SetConf(b, ifB, WgOut.Conf(keyB, 51820, (Wg.PubKey(keyA), "192.0.2.1:51820", "10.99.0.1/32,fd99::1/128", 0)));
        b.Ip($"addr add 10.99.0.2/24 dev {ifB}");
        b.Ip($"addr add fd99::2/64 dev {ifB} nodad");
        b.Ip($"link set {ifB} up");

        // No DNS= (that would call resolvconf); the routes wg-quick adds for AllowedIPs stay inside namespace A.
        string conf = $"""
            [Interface]
            PrivateKey = {keyA}
            ListenPort = 51820
            Address = 10.99.0.1/24, fd99::1/64

            [Peer]
            PublicKey = {Wg.PubKey(keyB)}
            Endpoint = 192.0.2.2:51820
            AllowedIPs = 10.99.0.2/32, fd99::2/128, 10.200.0.0/16
            """;
        string file = lab.File(conf, $"{ifA}.conf");
        if (OperatingSystem.IsLinux())
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var env = new Dictionary<string, string> { ["WG_QUICK_USERSPACE_IMPLEMENTATION"] = Implementations.Routerd };

        // Captured through pipes: wg-quick returns only when the daemon it started has let go of them.
        var up = Bounded.Run("ip", ["netns", "exec", a.Name, "wg-quick", "up", file], 30_000, env, unset: ["LOG_LEVEL"]);
        Console.WriteLine($"wg-quick up (exit {up.ExitCode}):\n{up.Stdout}{up.Stderr}");
        Assert.Equal(0, up.ExitCode);
        int pid = Assert.Single(Procs.ServingInterface(ifA));
        Assert.Contains("10.99.0.1/24", a.Ip($"-o addr show dev {ifA}"));
        Assert.Contains("10.200.0.0/16", a.Ip("route show"));
        Assert.Contains("mtu 1420", a.Ip($"link show {ifA}"));
        Assert.Contains(Wg.PubKey(keyB), a.Exec("wg", $"show {ifA} peers"));

        Assert.True(TryPing(a, "10.99.0.2"), "IPv4 ping through the wg-quick interface");
        Assert.True(TryPing(a, "fd99::2"), "IPv6 ping through the wg-quick interface");

        var down = Bounded.Run("ip", ["netns", "exec", a.Name, "wg-quick", "down", file], 30_000);
        Console.WriteLine($"wg-quick down (exit {down.ExitCode}):\n{down.Stdout}{down.Stderr}");
        Assert.Equal(0, down.ExitCode);
        Assert.True(Wait.Until(() => !Procs.IsAlive(pid), 5000), "routerd exits after wg-quick down");
        Assert.False(File.Exists(Lab.Socket(ifA)), "socket removed");
        Assert.DoesNotContain(ifA, a.Ip("-o link show"));
        Assert.DoesNotContain("10.200.0.0/16", a.Ip("route show"));
    }

    internal static bool TryPing(Netns ns, string address, int count = 3)
    {
        try
        {
            ns.Exec("ping", $"-c {count} -i 0.2 -W 3 {address}");
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
