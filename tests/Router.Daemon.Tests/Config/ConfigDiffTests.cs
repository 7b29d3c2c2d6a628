using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>What a reload would change, as 'wg syncconf' decides it: peers by public key, untouched peers left alone.</summary>
public sealed class ConfigDiffTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    private RouterConfig Load(string json)
    {
        var result = _f.Load(json);
        Assert.False(result.HasErrors, string.Join("\n", result.Problems));
        return result.Config!;
    }

    private ConfigDiff Diff(Func<string, string> edit)
    {
        using var before = Load(ConfigFixture.Valid);
        using var after = Load(edit(ConfigFixture.Valid));
        return ConfigDiff.Compute(before, after);
    }

    [Fact]
    public void SameFileIsNoChange()
        => Assert.True(Diff(json => json).IsEmpty);

    [Fact]
    public void FirstStartAddsEverything()
    {
        using var config = Load(ConfigFixture.Valid);
        var diff = ConfigDiff.Compute(null, config);
        Assert.Equal("wg0", Assert.Single(diff.InterfacesAdded).Name);
        Assert.True(diff.LedsChanged && diff.ForwardingChanged);
    }

    [Fact]
    public void ChangingOnePeerLeavesTheOtherAlone()
    {
        var diff = Diff(json => json.Replace("'allowedIps': ['10.20.0.0/24', 'fd00:20::/64']", "'allowedIps': ['10.20.0.0/24', 'fd00:21::/64'], 'persistentKeepalive': 15"));
        var change = Assert.Single(diff.InterfacesChanged);
        Assert.Equal(DeviceFields.None, change.Device);
        Assert.Empty(change.PeersAdded);
        Assert.Empty(change.PeersRemoved);
        var peer = Assert.Single(change.PeersChanged);
        Assert.Equal("lab", peer.Name);
        Assert.Equal(PeerFields.AllowedIps | PeerFields.PersistentKeepalive, peer.Fields);
        Assert.False(diff.LedsChanged || diff.ForwardingChanged || diff.MetricsChanged);
    }

    [Fact]
    public void ReorderingAllowedIpsIsNoChange()
        => Assert.True(Diff(json => json.Replace("['10.20.0.0/24', 'fd00:20::/64']", "['fd00:20::/64', '10.20.0.0/24']")).IsEmpty);

    [Fact]
    public void ReplacingAPeerKeyIsARemoveAndAnAdd()
    {
        var diff = Diff(json => json.Replace("'publicKey': '$B'", "'publicKey': '$C'"));
        var change = Assert.Single(diff.InterfacesChanged);
        Assert.Equal(ConfigFixture.PeerKeyB, Assert.Single(change.PeersRemoved).PublicKey.ToString());
        Assert.Equal(ConfigFixture.PeerKeyC, Assert.Single(change.PeersAdded).PublicKey.ToString());
        Assert.Empty(change.PeersChanged);
    }

    [Fact]
    public void RenamingAPeerIsOnlyANameChange()
    {
        var diff = Diff(json => json.Replace("'name': 'lab'", "'name': 'lab2'").Replace("'lab': { 'gpio'", "'lab2': { 'gpio'"));
        var peer = Assert.Single(Assert.Single(diff.InterfacesChanged).PeersChanged);
        Assert.Equal(PeerFields.Name, peer.Fields);
        Assert.True(diff.LedsChanged);
    }

    [Fact]
    public void DeviceFieldsAndEndpointAndPskAreSeen()
    {
        var diff = Diff(json => json
            .Replace("'listenPort': 51820", "'listenPort': 51821, 'fwmark': 51820")
            .Replace("'mtu': 1420", "'mtu': 1380")
            .Replace("['10.10.0.1/24']", "['10.10.0.1/24', 'fd00::1/64']")
            .Replace("'privateKeyFile': '$KEY'", "'privateKeyFile': '$KEY1'")
            .Replace("'presharedKeyFile': '$PSK', 'endpoint': 'hq.example.net:51820'", "'endpoint': 'hq2.example.net:51820'"));
        var change = Assert.Single(diff.InterfacesChanged);
        Assert.Equal(DeviceFields.PrivateKey | DeviceFields.ListenPort | DeviceFields.FwMark | DeviceFields.Mtu | DeviceFields.Addresses, change.Device);
        var hq = Assert.Single(change.PeersChanged);
        Assert.Equal(PeerFields.PresharedKey | PeerFields.Endpoint, hq.Fields);
    }

    [Fact]
    public void NewKeyInTheSameKeyFileIsAPrivateKeyChange()
    {
        using var before = Load(ConfigFixture.Valid);
        File.WriteAllText(_f.KeyPath, File.ReadAllText(_f.Key1Path));
        using var after = Load(ConfigFixture.Valid);
        Assert.Equal(DeviceFields.PrivateKey, Assert.Single(ConfigDiff.Compute(before, after).InterfacesChanged).Device);
    }

    [Fact]
    public void InterfacesAreAddedAndRemovedByName()
    {
        var diff = Diff(json => json.Replace("'wg0': {", "'wg1': {"));
        Assert.Equal("wg1", Assert.Single(diff.InterfacesAdded).Name);
        Assert.Equal("wg0", Assert.Single(diff.InterfacesRemoved).Name);
    }
}
