using System.Buffers.Binary;
using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel.Tests;

/// <summary>
/// Transport counters are 64 bits everywhere: on the wire, in the nonce, in the replay window (a 2026 failure class:
/// a 32-bit truncation somewhere makes counter 2^32 + n collide with n). Counters above 2^32 are set directly.
/// </summary>
public sealed class CounterWidthTests
{
    private const ulong Above32 = (1UL << 32) + 7;

    [Fact]
    public void TheSenderPutsAllSixtyFourBitsOnTheWireAndInTheNonce()
    {
        using var net = new TwoDevices();
        net.Connect();
        var keypair = net.PeerBOnA.Keypairs.Current!;
        keypair.SendCounter = Above32;
        byte[] packet = Ip.V4("10.0.0.1", "10.0.0.2", 48);
        net.SendFromA(packet);
        var sent = net.Net.TakeAll().Single().Data;
        Assert.Equal(Above32, BinaryPrimitives.ReadUInt64LittleEndian(sent.AsSpan(8)));
        byte[]? opened = TransportOracle.Open(keypair.SendKey, sent); // nonce from the full counter
        Assert.NotNull(opened);
        Assert.Equal(packet, opened[..packet.Length]);
    }

    [Fact]
    public void TheReceiverOpensAndAcceptsCountersAboveTwoToTheThirtyTwoWithoutAliasingSmallOnes()
    {
        using var net = new TwoDevices();
        net.Connect(); // counter 0 (and maybe 1) used
        byte[] packet = Ip.V4("10.0.0.1", "10.0.0.2", 48);
        var endpoints = (From: net.Net.Log.First(e => e.Data[0] == 4).From, To: net.Net.Log.First(e => e.Data[0] == 4).To);
        net.Deliver(TransportOracle.SealFromA(net, 7, packet), endpoints.From, endpoints.To);
        net.Deliver(TransportOracle.SealFromA(net, Above32, packet), endpoints.From, endpoints.To); // aliases 7 if truncated
        Assert.Equal(2, net.TunB.TakeWritten().Count);
        net.Deliver(TransportOracle.SealFromA(net, Above32 + 1, packet), endpoints.From, endpoints.To);
        Assert.Single(net.TunB.TakeWritten());
        net.Deliver(TransportOracle.SealFromA(net, 8, packet), endpoints.From, endpoints.To); // 2^32 behind: too old
        Assert.Empty(net.TunB.TakeWritten());
        Assert.Equal(1, net.B.Drops[DropReason.ReplayedCounter]);
        Assert.Equal(0, net.B.Drops[DropReason.DecryptFailed]);
    }

    [Fact]
    public void TheReplayWindowKeepsSixtyFourBits()
    {
        var window = new ReplayWindow();
        Assert.True(window.TryAccept(5));
        Assert.True(window.TryAccept((1UL << 32) + 5)); // not "5 again"
        Assert.False(window.TryAccept((1UL << 32) + 5));
        Assert.False(window.TryAccept(6)); // far behind, not "just after 5"
        Assert.True(window.TryAccept((1UL << 40) + 3));
        Assert.True(window.TryAccept((1UL << 40) + 3 - ReplayWindow.WindowSize));
        Assert.False(window.TryAccept((1UL << 40) + 2 - ReplayWindow.WindowSize));
        Assert.True(window.TryAccept(RejectAfterMessages - 1));
    }
}
