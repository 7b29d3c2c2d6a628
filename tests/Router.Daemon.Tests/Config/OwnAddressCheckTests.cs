using System.Net;
using Router.Daemon.Commands;
using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>check's warnings for allowed IPs that cover the gateway itself: its tunnel address or its LAN.</summary>
public sealed class OwnAddressCheckTests
{
    private static readonly HostAddress Lan = new("eth0", IPAddress.Parse("192.168.50.10"), 24);

    private static string Config(string hqAllowed) => $$"""
        { 'interfaces': { 'wg0': {
            'privateKeyFile': '$KEY', 'listenPort': 51820, 'addresses': ['10.10.0.1/24', 'fd10::1/64'],
            'peers': [
              { 'name': 'hq', 'publicKey': '$A', 'allowedIps': [{{hqAllowed}}] },
              { 'name': 'lab', 'publicKey': '$B', 'allowedIps': ['10.20.0.0/24'] }
            ] } } }
        """;

    private static List<ConfigProblem> Problems(string hqAllowed)
    {
        using var f = new ConfigFixture();
        var result = f.Load(Config(hqAllowed));
        using var config = result.Config;
        Assert.NotNull(config);
        return OwnAddressCheck.Find(config, [Lan, new HostAddress("wg0", IPAddress.Parse("10.10.0.1"), 24)]);
    }

    [Theory]
    [InlineData("'10.10.0.2/32', '10.0.0.0/16'")]       // the peer's own tunnel address and its site
    [InlineData("'10.10.0.0/24'")]                      // the whole tunnel subnet: a spoke towards its hub
    [InlineData("'10.0.0.0/8'")]                        // wider still: everything corporate through the hub
    [InlineData("'192.168.0.0/16'")]                    // wider than the LAN: the LAN's own route stays more specific
    [InlineData("'0.0.0.0/0', '::/0'")]                 // full tunnel: routerd installs no default route
    public void WhatSitesUseIsNotWarnedAbout(string allowed)
        => Assert.Empty(Problems(allowed));

    [Fact]
    public void TheGatewaysOwnTunnelAddressOnAPeerIsNamed()
    {
        var p = Assert.Single(Problems("'10.10.0.1/32'"));
        Assert.False(p.IsError);
        Assert.Equal("interfaces.wg0.peers[0].allowedIps: warning: 10.10.0.1/32 covers this gateway's own tunnel address 10.10.0.1 " +
            "(interfaces.wg0.addresses[0]); expected the addresses of peer 'hq', e.g. its own /32", p.ToString());
        Assert.Contains("fd10::1 (interfaces.wg0.addresses[1])", Assert.Single(Problems("'fd10::1/128'")).Message);
    }

    [Theory]
    [InlineData("'192.168.50.0/24'")]
    [InlineData("'192.168.50.0/25'")]
    [InlineData("'192.168.50.10/32'")]
    public void APrefixAsSpecificAsTheLanIsNamed(string allowed)
    {
        var p = Assert.Single(Problems(allowed));
        Assert.Equal("interfaces.wg0.peers[0].allowedIps", p.Path);
        Assert.Contains("covers 192.168.50.10/24, this machine's own address on eth0", p.Message);
        Assert.Contains("routed into the tunnel to peer 'hq'", p.Message);
    }

    [Fact]
    public void CheckPrintsTheWarningAndStillExitsZero()
    {
        using var f = new ConfigFixture();
        string path = f.Dir.Write("router.json", f.Expand(Config("'192.168.50.0/24'")));
        var output = new StringWriter();
        Assert.Equal(0, CheckCommand.Run(path, output, hostAddresses: [Lan]));
        Assert.Contains("interfaces.wg0.peers[0].allowedIps: warning: 192.168.50.0/24 covers 192.168.50.10/24", output.ToString());
        Assert.Contains("valid (1 interface, 2 peers, 1 warning)", output.ToString());
    }
}
