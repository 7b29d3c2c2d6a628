using Router.Daemon.Config;
using Router.Daemon.Firmware;

namespace Router.Daemon.Tests.Firmware;

/// <summary>The pure parts of the firmware mode: the nftables script and the show output.</summary>
public sealed class FirmwareUnitTests
{
    [Fact]
    public void RulesetReplacesTheTableInOneTransaction()
    {
        string? script = Forwarding.Ruleset(new ForwardingConfig(true, ["eth0"], true), ["wg0", "wg1"]);
        Assert.NotNull(script);
        Assert.StartsWith("table inet routerd\ndelete table inet routerd\ntable inet routerd {\n", script);
        Assert.Contains("oifname \"eth0\" masquerade", script);
        Assert.Contains("oifname { \"wg0\", \"wg1\" } tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu", script);
        Assert.Contains("iifname { \"wg0\", \"wg1\" }", script);
    }

    [Fact]
    public void NoRulesWithoutForwardingOrWithNothingToDo()
    {
        Assert.Null(Forwarding.Ruleset(new ForwardingConfig(false, ["eth0"], true), ["wg0"]));
        Assert.Null(Forwarding.Ruleset(new ForwardingConfig(true, [], false), ["wg0"]));
        string? clampOnly = Forwarding.Ruleset(new ForwardingConfig(true, [], true), ["wg0"]);
        Assert.DoesNotContain("masquerade", clampOnly);
    }

    [Fact]
    public void ShowJsonRoundTripsAndTextNamesEveryField()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        PeerStatus[] peers =
        [
            new("wg0", "hq", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "192.0.2.1:51820", now.AddSeconds(-42), 2048, 4096, "up", "10.0.0.0/24, fd00::/64", 25),
            new("wg0", "branch2", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=", null, null, 0, 0, "down", "", 0, "handshake attempts unanswered for 90 s; no answer"),
        ];
        InterfaceInfo[] interfaces = [new("wg0", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=", 51820), new("wg1", null, 0)];
        byte[] json = PeerStatusFormat.Json(peers, now, interfaces: interfaces);
        var back = PeerStatusFormat.Parse(json);
        Assert.Equal(peers, back);
        Assert.Equal(interfaces, PeerStatusFormat.ParseInterfaces(json));
        string listed = PeerStatusFormat.Text(peers, now, interfaces: interfaces);
        Assert.Contains("interface: wg0\n  public key: CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\n  listening port: 51820\n", listed);
        Assert.Contains("interface: wg1\n  public key: (none)\n  listening port: (none)\n", listed); // no peers, still shown
        Assert.Contains("    allowed ips: 10.0.0.0/24, fd00::/64\n    persistent keepalive: every 25 s\n", listed);
        Assert.Contains("    state: down: handshake attempts unanswered for 90 s; no answer\n", listed);
        Assert.Contains("    allowed ips: (none)\n", listed);
        Assert.Contains("\"lastHandshakeAgeSeconds\": 42", System.Text.Encoding.UTF8.GetString(json));
        string text = PeerStatusFormat.Text(peers, now);
        Assert.Contains("peer: hq", text);
        Assert.Contains("state: up", text);
        Assert.Contains("last handshake: 42 s ago", text);
        Assert.Contains("transfer: 2.00 KiB received, 4.00 KiB sent", text);
        Assert.Contains("endpoint: (none)", text);
        Assert.Contains("last handshake: never", text);
        Assert.DoesNotContain("public key:", text); // no interface details given: none invented
    }
}

/// <summary>What the kernel should hold for an interface, the basis of the add/remove difference on reload.</summary>
public sealed class LinkPlanTests
{
    [Fact]
    public void RoutesSkipWhatAnAddressPrefixCoversAndDefaultRoutes()
    {
        using var f = new Router.Daemon.Tests.Config.ConfigFixture();
        var loaded = f.Load("""
            { 'interfaces': { 'wg0': {
                'privateKeyFile': '$KEY', 'addresses': ['10.10.0.1/24', 'fd00:10::1/64'],
                'peers': [
                  { 'name': 'hq', 'publicKey': '$A', 'allowedIps': ['10.10.0.2/32', '10.0.0.0/16', '0.0.0.0/0'] },
                  { 'name': 'lab', 'publicKey': '$B', 'allowedIps': ['10.20.0.0/24', 'fd00:10::2/128', 'fd00:20::/64'] }
                ] } } }
            """);
        Assert.False(loaded.HasErrors, string.Join("; ", loaded.Problems));
        using var config = loaded.Config!;
        var plan = LinkPlan.For(config.Interface("wg0")!);
        Assert.Equal(["10.10.0.1/24", "fd00:10::1/64"], plan.Addresses.Select(a => a.ToString()).Order());
        Assert.Equal(["10.0.0.0/16", "10.20.0.0/24", "fd00:20::/64"], plan.Routes.Select(r => r.ToString()).Order());
        Assert.Equal(["0.0.0.0/0"], LinkPlan.DefaultRoutes(config.Interface("wg0")!).Select(r => r.ToString()));
    }
}
