namespace Router.Tunnel.Tests;

/// <summary>Every timer of timers.c on the virtual clock.</summary>
public sealed class DeviceTimerTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public void InitiatorRekeysWhenSendingOnASessionOlderThan120Seconds()
    {
        using var net = new TwoDevices();
        net.Connect();
        var first = net.PeerBOnA.Keypairs.Current;
        net.Advance(TimeSpan.FromSeconds(100), Second);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Same(first, net.PeerBOnA.Keypairs.Current); // 100 s: still the same session
        net.Advance(TimeSpan.FromSeconds(21), Second);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Equal(2, net.CountSent(MessageType.Initiation));
        Assert.NotSame(first, net.PeerBOnA.Keypairs.Current);
        Assert.Same(first, net.PeerBOnA.Keypairs.Previous);
        Assert.Equal(2, net.TunB.TakeWritten().Count); // sent on the old session, still valid
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten());
    }

    [Fact]
    public void SessionRejectedAfter180SecondsOnBothSides()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        var held = net.Net.TakeAll().Single(); // a valid transport message, delivered late
        net.Net.Filter = (_, _, _) => false;   // and from now on the network is dead
        net.Advance(TimeSpan.FromSeconds(181), Second);

        int transportBefore = net.CountSent(MessageType.Transport);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        Assert.Equal(transportBefore, net.CountSent(MessageType.Transport)); // nothing sent on the expired key
        Assert.Single(net.PeerBOnA.Staged);

        net.Deliver(held.Data, held.From, held.To);
        Assert.Equal(1, net.B.Drops[DropReason.KeypairExpired]);
        Assert.Empty(net.TunB.TakeWritten());
    }

    [Fact]
    public void LostInitiationIsRetransmittedAfterRekeyTimeout()
    {
        using var net = new TwoDevices();
        bool dropped = false;
        net.Net.Filter = (_, _, data) =>
        {
            if (data[0] != 1 || dropped)
                return true;
            dropped = true;
            return false;
        };
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Empty(net.TunB.TakeWritten());
        net.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(1, net.CountSent(MessageType.Initiation));
        net.Advance(TimeSpan.FromSeconds(0.6));
        Assert.Equal(2, net.CountSent(MessageType.Initiation));
        Assert.Single(net.TunB.TakeWritten()); // the staged packet went out once the session existed
        var peer = net.A.Snapshot().Peers.Single();
        Assert.Equal(0, peer.HandshakeAttempts);
        // The totals metrics export: two sent, one went unanswered, one completed.
        Assert.Equal((2L, 1L, 1L), (peer.InitiationsSent, peer.HandshakeTimeouts, peer.HandshakesCompleted));
        Assert.Equal(1, net.B.Snapshot().Peers.Single().HandshakesCompleted); // the responder counts it too
    }

    [Fact]
    public void GivesUpAfterTwentyAttemptsAndDropsStagedPackets()
    {
        using var net = new TwoDevices();
        net.Net.Filter = (_, _, _) => false;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Advance(TimeSpan.FromSeconds(80), Second / 2);
        Assert.True(net.A.Snapshot().Peers.Single().HandshakeAttempts > 10); // still trying: LEDs say "searching"
        net.Advance(TimeSpan.FromSeconds(40), Second / 2);
        int attempts = net.CountSent(MessageType.Initiation);
        Assert.Equal(ProtocolConstants.MaxTimerHandshakes + 2, attempts); // kernel: "did not complete after 20 attempts"
        Assert.Equal(1, net.A.Drops[DropReason.StagedOverflow]);
        Assert.Empty(net.PeerBOnA.Staged);
        net.Advance(TimeSpan.FromSeconds(100), Second);
        Assert.Equal(attempts, net.CountSent(MessageType.Initiation));
        var peer = net.A.Snapshot().Peers.Single();
        Assert.Equal((attempts, attempts, 0L), (peer.InitiationsSent, peer.HandshakeTimeouts, peer.HandshakesCompleted)); // the give-up counts the last one
    }

    [Fact]
    public void PassiveKeepaliveTenSecondsAfterReceivingDataOnlyOnce()
    {
        using var net = new TwoDevices();
        net.Connect();
        int keepalivesFromB = net.CountSent(MessageType.Transport, TwoDevices.AddressB, 32);
        net.Advance(TimeSpan.FromSeconds(9.5));
        Assert.Equal(keepalivesFromB, net.CountSent(MessageType.Transport, TwoDevices.AddressB, 32));
        net.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(keepalivesFromB + 1, net.CountSent(MessageType.Transport, TwoDevices.AddressB, 32));
        net.Advance(TimeSpan.FromSeconds(30), Second);
        Assert.Equal(keepalivesFromB + 1, net.CountSent(MessageType.Transport, TwoDevices.AddressB, 32));
        Assert.Equal(1, net.CountSent(MessageType.Initiation)); // A heard back, so no new handshake
    }

    [Fact]
    public void NewHandshakeFifteenSecondsAfterUnansweredData()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.Net.Filter = (from, _, _) => from.Port != TwoDevices.PortB; // B can no longer reach A
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        net.Advance(TimeSpan.FromSeconds(14.9));
        Assert.Equal(1, net.CountSent(MessageType.Initiation));
        net.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(2, net.CountSent(MessageType.Initiation));
    }

    [Fact]
    public void PersistentKeepaliveBringsTheTunnelUpAndRepeats()
    {
        using var net = new TwoDevices();
        var config = new DeviceConfig();
        config.Peers.Add(new PeerConfig(net.KeyB) { PersistentKeepaliveInterval = 25 });
        net.A.Configure(config);
        net.Pump();
        Assert.True(net.A.Snapshot().Peers.Single().HasSession); // the first keepalive started a handshake
        int before = net.CountSent(MessageType.Transport, TwoDevices.AddressA, 32);
        net.Advance(TimeSpan.FromSeconds(100), Second);
        int after = net.CountSent(MessageType.Transport, TwoDevices.AddressA, 32);
        Assert.InRange(after - before, 4, 5);
        Assert.Equal(25, net.A.Snapshot().Peers.Single().PersistentKeepaliveInterval);
    }

    [Fact]
    public void KeysZeroedAfter540SecondsWithoutANewHandshake()
    {
        using var net = new TwoDevices();
        net.Connect();
        var keypairA = net.PeerBOnA.Keypairs.Current!;
        var keypairB = net.PeerAOnB.Keypairs.Current!;
        net.Net.Filter = (_, _, _) => false;
        net.Advance(TimeSpan.FromSeconds(530), TimeSpan.FromSeconds(2));
        Assert.True(keypairA.IsValid);
        net.Advance(TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(2));
        Assert.False(keypairA.IsValid);
        Assert.False(keypairB.IsValid);
        Assert.True(keypairA.SendKey.IsZero && keypairA.ReceiveKey.IsZero);
        Assert.True(keypairB.SendKey.IsZero && keypairB.ReceiveKey.IsZero);
        Assert.Null(net.PeerBOnA.Keypairs.Current);
        Assert.True(net.PeerBOnA.Handshake.ChainingKey.IsZero);
        Assert.False(net.A.Snapshot().Peers.Single().HasSession);
    }
}

/// <summary>Rekey and reject limits by message count (the time limits are in <see cref="DeviceTimerTests"/>).</summary>
public sealed class MessageLimitTests
{
    [Fact]
    public void RekeyAfterTwoToTheSixtyMessages()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.Clock.Advance(TimeSpan.FromSeconds(6)); // outside the one-initiation-per-REKEY_TIMEOUT window
        net.PeerBOnA.Keypairs.Current!.SendCounter = ProtocolConstants.RekeyAfterMessages + 1;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        Assert.Equal(2, net.CountSent(MessageType.Initiation));
    }

    [Fact]
    public void NothingIsSentAtTheRejectLimitAndTheReceiverRefusesIt()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.Clock.Advance(TimeSpan.FromSeconds(6));
        var keypair = net.PeerBOnA.Keypairs.Current!;
        keypair.SendCounter = ProtocolConstants.RejectAfterMessages;
        int transport = net.CountSent(MessageType.Transport);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        Assert.Equal(transport, net.CountSent(MessageType.Transport));
        Assert.Equal(2, net.CountSent(MessageType.Initiation));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten()); // went out on the new session instead

        // A counter at the limit is refused by the receiver even when correctly encrypted.
        Assert.False(new ReplayWindow().TryAccept(ProtocolConstants.RejectAfterMessages));
    }

    [Fact]
    public void RejectAfterMessagesIsTheKernelsLimit()
    {
        // Kernel: U64_MAX - COUNTER_WINDOW_SIZE - 1 with a window of 8192 - 64; wireguard-go: 2^64 - 2^13 - 1.
        Assert.Equal(ulong.MaxValue - (8192 - 64) - 1, ProtocolConstants.RejectAfterMessages);
        Assert.True(ProtocolConstants.RejectAfterMessages > ulong.MaxValue - (1UL << 13) - 1); // within 63 of go's
        Assert.True(ProtocolConstants.RejectAfterMessages + ReplayWindow.WindowSize < ulong.MaxValue); // the window never wraps
        Assert.Equal(1UL << 60, ProtocolConstants.RekeyAfterMessages);
    }

    [Fact]
    public void TheReceiverDropsAndCountsACorrectlyEncryptedCounterAtTheRejectLimit()
    {
        using var net = new TwoDevices();
        net.Connect();
        byte[] packet = Ip.V4("10.0.0.1", "10.0.0.2", 48);
        var (_, from, to) = net.Net.Log.First(e => e.Data[0] == 4);
        net.Deliver(TransportOracle.SealFromA(net, ProtocolConstants.RejectAfterMessages - 1, packet), from, to);
        Assert.Single(net.TunB.TakeWritten()); // the last counter allowed
        net.Deliver(TransportOracle.SealFromA(net, ProtocolConstants.RejectAfterMessages, packet), from, to);
        net.Deliver(TransportOracle.SealFromA(net, ulong.MaxValue, packet), from, to);
        Assert.Empty(net.TunB.TakeWritten());
        Assert.Equal(2, net.B.Drops[DropReason.ReplayedCounter]);
        Assert.Equal(2, net.PeerAOnB.Drops[DropReason.ReplayedCounter]);
    }

    [Fact]
    public void TheSenderUsesTheLastAllowedCounterThenMovesToANewSession()
    {
        using var net = new TwoDevices();
        net.Connect();
        net.Clock.Advance(TimeSpan.FromSeconds(6));
        var keypair = net.PeerBOnA.Keypairs.Current!;
        keypair.SendCounter = ProtocolConstants.RejectAfterMessages - 1;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        var last = net.Net.Log.Last(e => e.Data[0] == 4).Data;
        Assert.Equal(ProtocolConstants.RejectAfterMessages - 1, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(last.AsSpan(8)));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten());
        Assert.Equal(ProtocolConstants.RejectAfterMessages, keypair.SendCounter);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten()); // on the new session
        Assert.NotSame(keypair, net.PeerBOnA.Keypairs.Current);
        Assert.Equal(ProtocolConstants.RejectAfterMessages, keypair.SendCounter); // the old one never went past the limit
    }
}
