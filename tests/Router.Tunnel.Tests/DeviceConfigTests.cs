using System.Security.Cryptography;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Tunnel.Tests;

/// <summary>The set/get surface the UAPI layer drives.</summary>
public sealed class DeviceConfigTests
{
    private static PublicKey RandomPublicKey() => new(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void SnapshotReportsEveryGetKey()
    {
        using var net = new TwoDevices(presharedKey: true);
        net.Connect();
        DeviceSnapshot snapshot = net.A.Snapshot();
        Assert.NotNull(snapshot.PrivateKey);
        Assert.Equal(net.KeyA, snapshot.PublicKey);
        Assert.Equal(TwoDevices.PortA, snapshot.ListenPort);
        Assert.Equal(0u, snapshot.FirewallMark);
        PeerSnapshot peer = snapshot.Peers.Single();
        Assert.Equal(net.KeyB, peer.PublicKey);
        Assert.True(peer.HasPresharedKey);
        Assert.Equal(Endpoint.FromBytes(TwoDevices.AddressB, TwoDevices.PortB), peer.Endpoint);
        Assert.Equal(["10.0.0.2/32", "10.2.0.0/16", "fd00::2/128"], peer.AllowedIps.Select(p => p.ToString()).Order());
        Assert.Equal(net.Clock.UtcNow, peer.LastHandshake);
        Assert.Equal((net.Clock.UtcNow - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerSecond, peer.LastHandshakeSeconds);
        Assert.True(peer.TxBytes > 0 && peer.RxBytes > 0);
        Assert.NotNull(peer.LastReceive);
        Assert.Equal(0, peer.HandshakeAttempts);
        Assert.DoesNotContain("(secret)", snapshot.PrivateKey!.Value.ToString() == "(secret)" ? "" : "leak");
    }

    [Fact]
    public void AllowedIpsAddRemoveOneReplaceAndMoveBetweenPeers()
    {
        using var net = new TwoDevices();
        PublicKey other = RandomPublicKey();
        var config = new DeviceConfig();
        var c = new PeerConfig(other);
        c.AllowedIps.Add(new(AllowedIp.Parse("10.2.0.0/16"))); // taken from B: moves
        c.AllowedIps.Add(new(AllowedIp.Parse("192.168.7.0/24")));
        config.Peers.Add(c);
        var b = new PeerConfig(net.KeyB) { UpdateOnly = true };
        b.AllowedIps.Add(new(AllowedIp.Parse("fd00::2/128"), Remove: true));
        config.Peers.Add(b);
        net.A.Configure(config);

        var peers = net.A.Snapshot().Peers.ToDictionary(p => p.PublicKey);
        Assert.Equal(["10.0.0.2/32"], peers[net.KeyB].AllowedIps.Select(p => p.ToString()));
        Assert.Equal(["10.2.0.0/16", "192.168.7.0/24"], peers[other].AllowedIps.Select(p => p.ToString()).Order());

        var replace = new DeviceConfig();
        var r = new PeerConfig(other) { ReplaceAllowedIps = true };
        r.AllowedIps.Add(new(AllowedIp.Parse("172.16.0.0/12")));
        replace.Peers.Add(r);
        net.A.Configure(replace);
        Assert.Equal(["172.16.0.0/12"], net.A.Snapshot().Peers.Single(p => p.PublicKey == other).AllowedIps.Select(p => p.ToString()));
    }

    [Fact]
    public void UpdateOnlyRemoveAndReplacePeers()
    {
        using var net = new TwoDevices();
        var config = new DeviceConfig();
        config.Peers.Add(new PeerConfig(RandomPublicKey()) { UpdateOnly = true }); // absent: ignored
        net.A.Configure(config);
        Assert.Single(net.A.Snapshot().Peers);

        PublicKey x = RandomPublicKey(), y = RandomPublicKey();
        var replace = new DeviceConfig { ReplacePeers = true };
        replace.Peers.Add(new PeerConfig(x));
        replace.Peers.Add(new PeerConfig(y));
        net.A.Configure(replace);
        Assert.Equal(new[] { x, y }.ToHashSet(), net.A.Snapshot().Peers.Select(p => p.PublicKey).ToHashSet());

        var remove = new DeviceConfig();
        remove.Peers.Add(new PeerConfig(x) { Remove = true });
        net.A.Configure(remove);
        Assert.Equal(y, net.A.Snapshot().Peers.Single().PublicKey);

        // Traffic to B's old prefixes has no peer any more.
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        Assert.Equal(1, net.A.Drops[DropReason.NoPeer]);
    }

    [Fact]
    public void ListenPortAndFwmarkRebindThroughTheFactory()
    {
        using var net = new TwoDevices();
        FakeBind old = net.Net.BindAt(TwoDevices.PortA)!;
        net.A.Configure(new DeviceConfig { ListenPort = 52000, FirewallMark = 0x51 });
        Assert.True(old.Disposed);
        Assert.Equal(52000, net.A.ListenPort);
        Assert.Equal((52000, 0x51u), net.BindRequestsA[^1]);
        Assert.Equal(0x51u, net.A.Snapshot().FirewallMark);

        net.A.Configure(new DeviceConfig { ListenPort = 52000 }); // unchanged: no rebind
        Assert.Equal(2, net.BindRequestsA.Count);

        // A failing bind leaves everything as it was.
        Assert.Throws<InvalidOperationException>(() => net.A.Configure(new DeviceConfig { ListenPort = TwoDevices.PortB, PrivateKey = default(Key32) }));
        Assert.Equal(52000, net.A.ListenPort);
        Assert.NotNull(net.A.Snapshot().PrivateKey);
    }

    [Fact]
    public void NewPrivateKeyDropsSessionsAndStillHandshakes()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.A.Configure(new DeviceConfig { PrivateKey = Key32.From(RandomNumberGenerator.GetBytes(32)) });
        Assert.False(net.A.Snapshot().Peers.Single().HasSession);
        // B does not know A's new key: A's initiations are refused.
        net.Clock.Advance(TimeSpan.FromSeconds(6)); // at most one initiation per REKEY_TIMEOUT
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Empty(net.TunB.TakeWritten());
        Assert.Equal(1, net.B.Drops[DropReason.NoPeer]);
    }

    [Fact]
    public void InvalidInputIsRefusedWithoutChanges()
    {
        using var net = new TwoDevices();
        var config = new DeviceConfig();
        config.Peers.Add(new PeerConfig(default));
        Assert.Throws<ArgumentException>(() => net.A.Configure(config));
        Assert.Throws<FormatException>(() => AllowedIp.Parse("10.0.0.0/33"));
        Assert.Single(net.A.Snapshot().Peers);
    }
}
