using System.Net;
using Router.Daemon.Apply;
using Router.Daemon.Config;
using Router.Daemon.Tests.Config;

namespace Router.Daemon.Tests.Apply;

/// <summary>The rule of docs/RUNNING.md "apply over SSH": which changes cut the path an SSH session uses.</summary>
public sealed class SshPathTests : IDisposable
{
    private readonly ConfigFixture _f = new();
    private readonly RouterConfig _before;

    public SshPathTests() => _before = Load(ConfigFixture.Valid);

    public void Dispose()
    {
        _before.Dispose();
        _f.Dispose();
    }

    private RouterConfig Load(string json)
    {
        var loaded = _f.Load(json);
        Assert.False(loaded.HasErrors, string.Join("\n", loaded.Problems));
        return loaded.Config!;
    }

    private static SshSession Session(string client, string server) => new(IPAddress.Parse(client), IPAddress.Parse(server));

    private string? Cut(SshSession s, string after)
    {
        using var config = Load(after);
        return SshPath.Cut(s, _before, config);
    }

    [Fact]
    public void ParsesSshConnection()
    {
        Assert.Equal(Session("192.0.2.2", "10.77.0.1"), SshSession.Parse("192.0.2.2 50312 10.77.0.1 22"));
        Assert.Equal(Session("192.0.2.2", "fe80::1"), SshSession.Parse("::ffff:192.0.2.2 50312 fe80::1%eth0 22"));
        Assert.Null(SshSession.Parse(null));
        Assert.Null(SshSession.Parse("garbage"));
        Assert.Null(SshSession.Parse("a 1 b 2"));
    }

    [Fact]
    public void SameConfigKeepsThePath()
        => Assert.Null(Cut(Session("10.20.0.5", "10.10.0.1"), ConfigFixture.Valid));

    [Fact]
    public void RemovingTheServerAddressCutsIt()
        => Assert.Contains("interfaces.wg0.addresses no longer holds 10.10.0.1",
            Cut(Session("192.168.1.50", "10.10.0.1"), ConfigFixture.Valid.Replace("'10.10.0.1/24'", "'10.10.9.1/24'")));

    [Fact]
    public void RemovingTheClientFromEveryPeersAllowedIpsCutsIt()
        => Assert.Contains("10.20.0.5 (this SSH session's client) is in no peer's allowedIps",
            Cut(Session("10.20.0.5", "192.168.1.1"), ConfigFixture.Valid.Replace("['10.20.0.0/24', 'fd00:20::/64']", "['fd00:20::/64']")));

    [Fact]
    public void MovingTheClientToAnotherPeerCutsIt()
        => Assert.Contains("would go through interfaces.wg0's peer hq instead of interfaces.wg0's peer lab",
            Cut(Session("10.20.0.5", "192.168.1.1"), ConfigFixture.Valid.Replace("'allowedIps': ['10.0.0.0/16']", "'allowedIps': ['10.0.0.0/16', '10.20.0.0/25']")));

    [Fact]
    public void ReplacingTheCarryingPeersKeyCutsIt()
        => Assert.NotNull(Cut(Session("10.20.0.5", "192.168.1.1"), ConfigFixture.Valid.Replace("'publicKey': '$B'", "'publicKey': '$C'")));

    [Fact]
    public void NewPrivateKeyCutsIt()
        => Assert.Contains("interfaces.wg0.privateKey changes",
            Cut(Session("10.20.0.5", "192.168.1.1"), ConfigFixture.Valid.Replace("'privateKeyFile': '$KEY'", "'privateKeyFile': '$KEY1'")));

    [Fact]
    public void ChangingTheCarryingPeersEndpointCutsIt()
        => Assert.Contains("the endpoint of peer lab",
            Cut(Session("10.20.0.5", "192.168.1.1"), ConfigFixture.Valid.Replace("[2001:db8::7]:51820", "[2001:db8::8]:51820")));

    [Fact]
    public void ChangingAnotherPeerKeepsThePath()
        => Assert.Null(Cut(Session("10.20.0.5", "192.168.1.1"), ConfigFixture.Valid.Replace("'persistentKeepalive': 25", "'persistentKeepalive': 15")));

    [Fact]
    public void ADefaultRouteInAllowedIpsIsNotTheSessionsPath()
    {
        // hq takes 0.0.0.0/0 (routerd installs no default route): SSH over the LAN does not go through it.
        string withDefault = ConfigFixture.Valid.Replace("'allowedIps': ['10.0.0.0/16']", "'allowedIps': ['10.0.0.0/16', '0.0.0.0/0']");
        using var before = Load(withDefault);
        using var after = Load(withDefault.Replace("hq.example.net:51820", "hq2.example.net:51820"));
        Assert.Null(SshPath.Cut(Session("192.168.1.50", "192.168.1.1"), before, after));
    }

    [Fact]
    public void SessionThatUsesNoTunnelIsNeverCut()
        // SSH over the LAN: neither end is a tunnel address or inside a peer's allowed IPs.
        => Assert.Null(Cut(Session("192.168.1.50", "192.168.1.1"), ConfigFixture.Valid.Replace("'10.10.0.1/24'", "'10.10.9.1/24'").Replace("'publicKey': '$B'", "'publicKey': '$C'")));
}
