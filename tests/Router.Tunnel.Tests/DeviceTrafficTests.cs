using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>Two devices complete a handshake and carry IPv4 and IPv6 both ways.</summary>
public sealed class DeviceTrafficTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HandshakeThenIPv4AndIPv6BothWays(bool presharedKey)
    {
        using var net = new TwoDevices(presharedKey);
        byte[] v4 = Ip.V4("10.0.0.1", "10.0.0.2", 100);
        byte[] v6 = Ip.V6("fd00::1", "fd00::2", 333);
        net.SendFromA(v4, v6);
        net.Pump();
        var atB = net.TunB.TakeWritten();
        Assert.Equal(2, atB.Count);
        Assert.Equal(v4, atB[0]);
        Assert.Equal(v6, atB[1]);

        byte[] back4 = Ip.V4("10.0.0.2", "10.0.0.1", 1000);
        byte[] back6 = Ip.V6("fd00::2", "fd00::1", 1380); // exactly the MTU
        net.SendFromB(back4, back6);
        net.Pump();
        var atA = net.TunA.TakeWritten();
        Assert.Equal([back4, back6], atA);

        Assert.Equal(1, net.CountSent(MessageType.Initiation));
        Assert.Equal(1, net.CountSent(MessageType.Response));
        Assert.Equal(0, net.A.Drops.Total + net.B.Drops.Total);
        var peerOnA = net.A.Snapshot().Peers.Single();
        Assert.Equal(presharedKey, peerOnA.HasPresharedKey);
        Assert.True(peerOnA.HasSession);
        Assert.NotNull(peerOnA.LastHandshake);
    }

    [Fact]
    public void MismatchedPresharedKeyNeverCompletes()
    {
        using var net = new TwoDevices(presharedKey: true, pskMismatch: true);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Empty(net.TunB.TakeWritten());
        Assert.Equal(1, net.A.Drops[DropReason.HandshakeFailed]); // the response does not authenticate
        Assert.False(net.A.Snapshot().Peers.Single().HasSession);
    }

    [Fact]
    public void ByteCountersCountWireGuardMessagesBothWays()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.SendFromB(Ip.V4("10.0.0.2", "10.0.0.1", 80));
        net.Pump();
        PeerSnapshot b = net.A.Snapshot().Peers.Single();
        PeerSnapshot a = net.B.Snapshot().Peers.Single();
        Assert.Equal(b.TxBytes, a.RxBytes);
        Assert.Equal(a.TxBytes, b.RxBytes);
        // A: initiation + one data message (84 -> padded 96 + 32). B: response + data (100 -> 112 + 32).
        Assert.Equal(148 + 16 + 96 + 16, b.TxBytes);
        Assert.Equal(92 + 16 + 112 + 16, b.RxBytes);
    }

    [Fact]
    public void TxBytesCountOnlyDatagramsTheBindSent()
    {
        using var net = new TwoDevices();
        net.Connect();
        long before = net.A.Snapshot().Peers.Single().TxBytes;
        FakeBind bindA = net.Net.BindAt(TwoDevices.PortA)!;

        // The kernel refuses the send (kernel wg_socket_send_skb_to_peer adds tx_bytes only when the send succeeded).
        bindA.RefuseSends = true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2", 80), Ip.V4("10.0.0.1", "10.0.0.2", 80));
        net.Pump();
        Assert.Equal(before, net.A.Snapshot().Peers.Single().TxBytes);
        Assert.Empty(net.TunB.TakeWritten());

        bindA.RefuseSends = false;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2", 80));
        net.Pump();
        Assert.Equal(before + 16 + 112 + 16, net.A.Snapshot().Peers.Single().TxBytes);
        Assert.Single(net.TunB.TakeWritten());
    }

    [Fact]
    public void InnerSourceOutsideAllowedIpsIsDropped()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.SendFromA(Ip.V4("10.9.9.9", "10.0.0.2"));
        net.Pump();
        Assert.Empty(net.TunB.TakeWritten());
        Assert.Equal(1, net.B.Drops[DropReason.AllowedIpsMismatch]);
        Assert.Equal(1, net.PeerAOnB.Drops[DropReason.AllowedIpsMismatch]);
    }

    [Fact]
    public void APeerSpoofingAnotherPeersAllowedIpsIsDroppedAndCounted()
    {
        using var net = new TwoDevices();
        var other = new PeerConfig(new PublicKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        other.AllowedIps.Add(new(AllowedIp.Parse("10.5.0.0/16")));
        other.AllowedIps.Add(new(AllowedIp.Parse("fd05::/64")));
        var config = new DeviceConfig();
        config.Peers.Add(other);
        net.B.Configure(config);
        net.Connect();
        net.SendFromA(Ip.V4("10.5.0.7", "10.0.0.2"), Ip.V6("fd05::7", "fd00::2"));
        net.Pump();
        Assert.Empty(net.TunB.TakeWritten());
        Assert.Equal(2, net.B.Drops[DropReason.AllowedIpsMismatch]);
        Assert.Equal(2, net.PeerAOnB.Drops[DropReason.AllowedIpsMismatch]);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten()); // its own address still passes
    }

    [Fact]
    public void DestinationWithoutPeerIsDropped()
    {
        using var net = new TwoDevices();
        net.SendFromA(Ip.V4("10.0.0.1", "172.16.0.1"), [0x00, 0x01]);
        Assert.Equal(1, net.A.Drops[DropReason.NoPeer]);
        Assert.Equal(1, net.A.Drops[DropReason.InvalidInnerPacket]);
        Assert.Empty(net.Net.Log);
    }

    [Fact]
    public void EndpointRoamsToLatestAuthenticatedSource()
    {
        using var net = new TwoDevices();
        net.Connect();
        Assert.Equal(Endpoint.FromBytes(TwoDevices.AddressA, TwoDevices.PortA), net.B.Snapshot().Peers.Single().Endpoint);

        byte[] moved = [203, 0, 113, 7];
        net.Net.BindAt(TwoDevices.PortA)!.Address = moved; // A is now behind another address
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Equal(Endpoint.FromBytes(moved, TwoDevices.PortA), net.B.Snapshot().Peers.Single().Endpoint);

        // An unauthenticated packet from elsewhere does not move it.
        var forged = new byte[64];
        forged[0] = 4;
        net.Deliver(forged, Endpoint.FromBytes([6, 6, 6, 6], 666), Endpoint.FromBytes(TwoDevices.AddressB, TwoDevices.PortB));
        Assert.Equal(Endpoint.FromBytes(moved, TwoDevices.PortA), net.B.Snapshot().Peers.Single().Endpoint);

        // B's replies go to the new address.
        net.Net.Log.Clear();
        net.SendFromB(Ip.V4("10.0.0.2", "10.0.0.1"));
        Assert.Equal(Endpoint.FromBytes(moved, TwoDevices.PortA), net.Net.Log.Single().To);
    }

    [Fact]
    public void ManyPacketsInOneBatchKeepOrder()
    {
        using var net = new TwoDevices();
        net.Connect();
        var buffers = new PacketBuffer[50];
        var sent = new List<byte[]>();
        for (int i = 0; i < buffers.Length; i++)
        {
            byte[] p = Ip.V4("10.0.0.1", "10.0.0.2", 20 + i, (byte)i);
            sent.Add(p);
            buffers[i] = new PacketBuffer();
            p.CopyTo(buffers[i].Data.AsSpan(PacketBuffer.Headroom));
            buffers[i].Length = p.Length;
        }
        net.A.HandleTunPackets(buffers);
        net.Pump();
        Assert.Equal(sent, net.TunB.TakeWritten());
    }
}

public sealed class KeypairConfirmationTests
{
    [Fact]
    public void ResponderKeepsNextUntilTheFirstTransportMessageArrives()
    {
        using var net = new TwoDevices();
        net.Net.Filter = (from, _, data) => data[0] != 4 || from.Port != TwoDevices.PortA; // hold A's transport
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.NotNull(net.PeerBOnA.Keypairs.Current);       // initiator: current at once
        Assert.NotNull(net.PeerAOnB.Keypairs.Next);          // responder: waits for confirmation
        Assert.Null(net.PeerAOnB.Keypairs.Current);
        Assert.Null(net.B.Snapshot().Peers.Single().LastHandshake);

        net.Net.Filter = (_, _, _) => true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Null(net.PeerAOnB.Keypairs.Next);
        Assert.NotNull(net.PeerAOnB.Keypairs.Current);
        Assert.NotNull(net.B.Snapshot().Peers.Single().LastHandshake);
        Assert.Single(net.TunB.TakeWritten());
    }
}
