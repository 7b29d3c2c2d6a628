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
            new("wg0", "hq", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "192.0.2.1:51820", now.AddSeconds(-42), 2048, 4096, "up"),
            new("wg0", "branch2", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=", null, null, 0, 0, "idle"),
        ];
        byte[] json = PeerStatusFormat.Json(peers, now);
        var back = PeerStatusFormat.Parse(json);
        Assert.Equal(peers, back);
        Assert.Contains("\"lastHandshakeAgeSeconds\": 42", System.Text.Encoding.UTF8.GetString(json));
        string text = PeerStatusFormat.Text(peers, now);
        Assert.Contains("peer: hq", text);
        Assert.Contains("state: up", text);
        Assert.Contains("last handshake: 42 s ago", text);
        Assert.Contains("transfer: 2.00 KiB received, 4.00 KiB sent", text);
        Assert.Contains("endpoint: (none)", text);
        Assert.Contains("last handshake: never", text);
    }
}
