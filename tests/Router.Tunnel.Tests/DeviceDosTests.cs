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

    /// <summary>A random initiation whose mac1 is right for <paramref name="responder"/> (what a flooder can make).</summary>
    internal static byte[] InitiationWithValidMac1(PublicKey responder)
    {
        Span<byte> mac1Key = stackalloc byte[32];
        var state = new Blake2sState(32);
        state.Update("mac1----"u8);
        state.Update(responder.ToArray());
        state.Finish(mac1Key);
        var message = RandomNumberGenerator.GetBytes(148);
        BitConverter.TryWriteBytes(message, 1u);
        Blake2s.KeyedHash(mac1Key, message.AsSpan(0, 116), message.AsSpan(116, 16));
        message.AsSpan(132).Clear();
        return message;
    }

    /// <summary>Hands <paramref name="messages"/> to B in one receive batch, as one recvmmsg returns them.</summary>
    internal static void DeliverBatchToB(TwoDevices net, IReadOnlyList<byte[]> messages, Func<int, Endpoint> source)
    {
        var batch = new PacketBuffer[messages.Count];
        for (int i = 0; i < batch.Length; i++)
        {
            batch[i] = new PacketBuffer(Math.Max(1, messages[i].Length));
            messages[i].CopyTo(batch[i].Data.AsSpan(PacketBuffer.Headroom));
            batch[i].Length = messages[i].Length;
            batch[i].Endpoint = source(i);
        }
        net.B.HandleDatagrams(batch);
    }

    [Fact]
    public void ABacklogOfValidMac1InitiationsOnlyEarnsCookieRepliesAndNoDiffieHellman()
    {
        using var net = new TwoDevices();
        net.B.UnderLoadQueueDepth = 10; // natural detection: 10 waiting handshakes are a backlog
        long dh = net.B.DhComputations;
        var flood = Enumerable.Range(0, 100).Select(_ => InitiationWithValidMac1(net.KeyB)).ToList();
        DeliverBatchToB(net, flood, i => Endpoint.FromBytes([203, 0, 113, (byte)i], 1000));
        // 91 are judged with 10 or more still queued; the last 9 within UNDER_LOAD_AFTER_TIME of that.
        Assert.Equal(100, net.B.Drops[DropReason.CookieRequired]);
        Assert.Equal(dh, net.B.DhComputations);
        Assert.Equal(100, net.CountSent(MessageType.CookieReply));
    }

    [Fact]
    public void AStreamOfValidMac1InitiationsTheDeviceKeepsUpWithIsNoLoad()
    {
        // 200 a second, each worked off before the next arrives: no backlog, so no cookies, whatever the rate
        // (a fixed handshakes-per-second threshold, 128 before, demanded cookies from everyone after 0.64 s).
        using var net = new TwoDevices();
        for (int i = 0; i < 200; i++)
        {
            net.Deliver(InitiationWithValidMac1(net.KeyB), Endpoint.FromBytes([203, 0, 113, (byte)i], 1000), ToB);
            net.Clock.Advance(TimeSpan.FromMilliseconds(5));
        }
        Assert.Equal(200, net.B.Drops[DropReason.HandshakeFailed]);
        Assert.Equal(0, net.B.Drops[DropReason.CookieRequired]);
        Assert.Equal(0, net.CountSent(MessageType.CookieReply));

        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten()); // the legitimate peer's first packet, without a cookie round trip
    }

    [Fact]
    public void ATrickleOfWrongMac1InitiationsNeverPutsTheDeviceUnderLoad()
    {
        // 150 a second for 2 s with a wrong mac1 (the 2026 failure: a load counter that runs before the mac1 check
        // put every peer into cookie mode, and a legitimate first ping waited 5 s for the retransmission).
        using var net = new TwoDevices();
        var random = new Random(13);
        for (int i = 0; i < 300; i++)
        {
            var message = new byte[148];
            random.NextBytes(message);
            BitConverter.TryWriteBytes(message, 1u);
            net.Deliver(message, Endpoint.FromBytes([203, 0, 113, (byte)i], 1000), ToB);
            net.Clock.Advance(TimeSpan.FromMilliseconds(1000.0 / 150));
        }
        var burst = Enumerable.Range(0, 200).Select(_ => RandomNumberGenerator.GetBytes(148)).ToList();
        foreach (var message in burst)
            BitConverter.TryWriteBytes(message, 1u);
        DeliverBatchToB(net, burst, i => Endpoint.FromBytes([203, 0, 114, (byte)i], 1000)); // nor in one batch
        Assert.Equal(500, net.B.Drops[DropReason.BadMac1]);

        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten()); // in the same instant: no cookie reply, no 5 s retransmission
        Assert.Equal(0, net.B.Drops[DropReason.CookieRequired]);
        Assert.Equal(0, net.CountSent(MessageType.CookieReply));
    }

    [Fact]
    public void AQueueAFloodKeepsFullStillTakesACookieHoldersRetry()
    {
        using var net = new TwoDevices();
        List<byte[]> Flood() => Enumerable.Range(0, 1100).Select(_ => InitiationWithValidMac1(net.KeyB)).ToList();
        Endpoint FloodSource(int i) => Endpoint.FromBytes([203, 0, (byte)(i >> 8), (byte)i], 1000);

        // A's first initiation arrives behind 1100 flood messages: past 7/8 of the queue it earns a cookie reply
        // straight away (a full queue used to drop it with the flood, and every retry after it).
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        var first = net.Net.TakeAll().Single();
        DeliverBatchToB(net, [.. Flood(), first.Data], i => i < 1100 ? FloodSource(i) : first.From);
        Assert.Equal(1101, net.B.Drops[DropReason.CookieRequired]);
        Assert.Equal(0, net.B.Drops[DropReason.HandshakeQueueFull]);
        net.Pump(); // A takes its cookie
        Assert.Equal(0, net.A.Drops[DropReason.BadCookieReply]);

        // Its retry carries mac2 and finds room in the reserve behind the next 1100.
        net.Clock.Advance(TimeSpan.FromSeconds(5.5));
        net.A.Tick();
        var retry = net.Net.TakeAll().Single();
        DeliverBatchToB(net, [.. Flood(), retry.Data], i => i < 1100 ? FloodSource(i) : retry.From);
        net.Pump();
        Assert.Single(net.TunB.TakeWritten());
        Assert.Equal(0, net.B.Drops[DropReason.HandshakeQueueFull]);

        // Only a flood of valid mac2 (here: A's retry replayed) fills the reserve; the rest is dropped and counted.
        net.Clock.Advance(TimeSpan.FromSeconds(0.5));
        var replays = Flood();
        replays.AddRange(Enumerable.Repeat(retry.Data, 300));
        DeliverBatchToB(net, replays, i => i < 1100 ? FloodSource(i) : retry.From);
        Assert.Equal(300 - 1024 / 8, net.B.Drops[DropReason.HandshakeQueueFull]);
    }

    [Fact]
    public void ACookieForOneSourcePortDoesNotServeAnother()
    {
        // Cookie = MAC(secret, address || port): behind one NAT address, each port must earn its own.
        using var net = new TwoDevices();
        net.B.ForceUnderLoad = true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump(); // A holds a cookie for 192.0.2.1:51820
        Assert.Equal(1, net.B.Drops[DropReason.CookieRequired]);
        net.Clock.Advance(TimeSpan.FromSeconds(5.5));
        net.A.Tick();
        var retry = net.Net.TakeAll().Single(); // carries mac2 for port 51820
        net.Deliver(retry.Data, Endpoint.FromBytes(TwoDevices.AddressA, 40000), retry.To);
        Assert.Equal(2, net.B.Drops[DropReason.CookieRequired]); // the other port is asked for its own cookie
        Assert.Equal(0, net.B.Drops[DropReason.HandshakeReplay]);
        net.Net.TakeAll();
        net.Deliver(retry.Data, retry.From, retry.To);
        Assert.Equal(2, net.B.Drops[DropReason.CookieRequired]); // from the port the cookie was made for it passes
        Assert.NotNull(net.PeerAOnB.Keypairs.Next ?? net.PeerAOnB.Keypairs.Current);
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

    [Fact]
    public void CookieRepliesAreLimitedPerSourceAndSpareOthers()
    {
        // Under load every initiation without mac2 earns a cookie reply, but one source gets at most its burst (5)
        // and then 20 a second: a flood from few addresses cannot buy a reply per packet, and another source's
        // initiation in the same instant still gets its reply.
        using var net = new TwoDevices();
        net.B.ForceUnderLoad = true;
        Endpoint flooder = Endpoint.FromBytes([203, 0, 113, 7], 1000);
        for (int i = 0; i < 50; i++)
            net.Deliver(InitiationWithValidMac1(net.KeyB), flooder, ToB);
        Assert.Equal(5, net.CountSent(MessageType.CookieReply));
        Assert.Equal(45, net.B.Drops[DropReason.CookieReplyLimited]);

        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Equal(6, net.B.Drops[DropReason.CookieRequired]); // A's initiation got its cookie reply
        Assert.Equal(0, net.A.Drops[DropReason.BadCookieReply]);

        net.Clock.Advance(TimeSpan.FromSeconds(1)); // 20 more tokens (capped at the burst of 5)
        for (int i = 0; i < 50; i++)
            net.Deliver(InitiationWithValidMac1(net.KeyB), flooder, ToB);
        Assert.Equal(5 + 1 + 5, net.CountSent(MessageType.CookieReply)); // the log keeps all
        Assert.Equal(90, net.B.Drops[DropReason.CookieReplyLimited]);
    }
}
