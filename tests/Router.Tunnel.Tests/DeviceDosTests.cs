using System.Security.Cryptography;
using Router.Crypto;
using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>Cookies, mac1/mac2 and the rate limiter keep handshake floods cheap.</summary>
public sealed class DeviceDosTests
{
    private static readonly Endpoint ToB = Endpoint.FromBytes(TwoDevices.AddressB, TwoDevices.PortB);

    [Fact]
    public void UnderLoadALegitimateInitiatorCompletesTheCookieRoundTrip()
    {
        using var net = new TwoDevices();
        net.B.ForceUnderLoad = true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Equal(1, net.B.Drops[DropReason.CookieRequired]);
        Assert.Equal(1, net.CountSent(MessageType.CookieReply));
        Assert.Empty(net.TunB.TakeWritten());

        net.Advance(TimeSpan.FromSeconds(5.5)); // the retransmission carries mac2 from the cookie
        Assert.Equal(2, net.CountSent(MessageType.Initiation));
        Assert.Single(net.TunB.TakeWritten());
        Assert.Equal(1, net.B.Drops[DropReason.CookieRequired]);
        Assert.Equal(0, net.A.Drops[DropReason.BadCookieReply]);
    }

    [Fact]
    public void FloodWithoutValidMac1CostsNoDiffieHellman()
    {
        using var net = new TwoDevices();
        net.B.ForceUnderLoad = true;
        long dh = net.B.DhComputations;
        var random = new Random(7);
        for (int i = 0; i < 500; i++)
        {
            var message = new byte[148];
            random.NextBytes(message);
            message[0] = 1;
            message[1] = message[2] = message[3] = 0;
            net.Deliver(message, Endpoint.FromBytes([203, 0, 113, (byte)i], 1000), ToB);
        }
        Assert.Equal(500, net.B.Drops[DropReason.BadMac1]);
        Assert.Equal(dh, net.B.DhComputations);
        Assert.Empty(net.Net.Log); // not even a cookie reply
    }

    [Fact]
    public void FloodWithValidMac1ButNoCookieOnlyEarnsCookieRepliesAndNoDiffieHellman()
    {
        using var net = new TwoDevices();
        net.B.UnderLoadThreshold = 10; // natural detection: the 10th handshake in a second turns it on
        long dh = net.B.DhComputations;
        Span<byte> mac1Key = stackalloc byte[32];
        var state = new Blake2sState(32);
        state.Update("mac1----"u8);
        state.Update(net.KeyB.ToArray());
        state.Finish(mac1Key);
        for (int i = 0; i < 100; i++)
        {
            var message = RandomNumberGenerator.GetBytes(148);
            BitConverter.TryWriteBytes(message, 1u);
            Blake2s.KeyedHash(mac1Key, message.AsSpan(0, 116), message.AsSpan(116, 16));
            message.AsSpan(132).Clear();
            net.Deliver(message, Endpoint.FromBytes([203, 0, 113, 9], 1000), ToB);
        }
        // Before the load threshold the random ephemeral costs a DH and fails to decrypt; after it, none.
        Assert.Equal(9, net.B.Drops[DropReason.HandshakeFailed]);
        Assert.Equal(91, net.B.Drops[DropReason.CookieRequired]);
        Assert.Equal(dh + 9, net.B.DhComputations);
        Assert.Equal(91, net.CountSent(MessageType.CookieReply));
    }

    [Fact]
    public void ValidCookieHoldersAreRateLimitedPerSource()
    {
        using var net = new TwoDevices();
        net.B.ForceUnderLoad = true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump(); // A now holds a cookie
        // Replay A's next initiation (valid mac1 and mac2) many times within one instant.
        net.Clock.Advance(TimeSpan.FromSeconds(5.5));
        net.A.Tick();
        var initiation = net.Net.TakeAll().Single();
        for (int i = 0; i < 10; i++)
            net.Deliver(initiation.Data, initiation.From, initiation.To);
        Assert.Equal(5, net.B.Drops[DropReason.RateLimited]); // burst 5: one consumed, four replays; the rest limited
        Assert.Equal(4, net.B.Drops[DropReason.HandshakeReplay]);
    }
}
