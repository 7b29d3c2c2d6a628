using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>apply's "changes:" lines: one per changed setting, by JSON path, with the peer's name and no secret.</summary>
public sealed class ConfigDiffTextTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    private IReadOnlyList<string> Lines(string before, string after)
    {
        using var o = _f.Load(before).Config!;
        using var n = _f.Load(after).Config!;
        return ConfigDiffText.Lines(o, n, ConfigDiff.Compute(o, n));
    }

    [Fact]
    public void EachChangedSettingIsOneLineByJsonPath()
    {
        string after = ConfigFixture.Valid
            .Replace("'listenPort': 51820", "'listenPort': 51821")
            .Replace("'10.10.0.1/24'", "'10.10.0.1/24', '10.11.0.1/24'")
            .Replace("'persistentKeepalive': 25", "'persistentKeepalive': 15")
            .Replace("'masquerade': ['eth0']", "'masquerade': ['eth1']")
            .Replace("'privateKeyFile': '$KEY'", "'privateKeyFile': '$KEY1'");
        var lines = Lines(ConfigFixture.Valid, after);
        Assert.Equal(
        [
            "  interfaces.wg0.privateKey: (changed): every peer must be given the new public key",
            "  interfaces.wg0.listenPort: 51820 -> 51821",
            "  interfaces.wg0.addresses: [10.10.0.1/24] -> [10.10.0.1/24, 10.11.0.1/24]",
            "  interfaces.wg0.peers[0].persistentKeepalive (hq): 25 -> 15",
            "  forwarding.masquerade: [eth0] -> [eth1]",
        ], lines);
    }

    [Fact]
    public void AddedAndRemovedPeersAndInterfaces()
    {
        string before = ConfigFixture.Valid;
        string after = ConfigFixture.Valid.Replace("{ 'name': 'lab', 'publicKey': '$B'", "{ 'name': 'lab2', 'publicKey': '$C'")
            .Replace("'lab': { 'gpio': 27, 'activeLow': true }", "'lab2': { 'gpio': 27, 'activeLow': true }");
        var lines = Lines(before, after);
        Assert.Contains("+ interfaces.wg0.peers[1] (lab2): allowedIps [10.20.0.0/24, fd00:20::/64], endpoint [2001:db8::7]:51820", lines);
        Assert.Contains("- interfaces.wg0.peers[1] (lab): removed", lines);
        Assert.Contains("  leds: (changed)", lines);
        Assert.DoesNotContain(lines, l => l.Contains("psk", StringComparison.OrdinalIgnoreCase) && l.Contains('='));
    }
}
