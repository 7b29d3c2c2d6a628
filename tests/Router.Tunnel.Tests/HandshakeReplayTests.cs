using System.Buffers.Binary;

namespace Router.Tunnel.Tests;

/// <summary>TAI64N replay protection and the 20 ms initiation flood guard, with an injected timestamp source.</summary>
public sealed class HandshakeReplayTests
{
    /// <summary>Seconds the daemon controls, e.g. a persisted floor on a board without a real-time clock.</summary>
    private sealed class SteppedTimestamps : ITimestampSource
    {
        public ulong Seconds = 1_700_000_000;
        public ulong Step = 1;

        public void WriteTai64N(Span<byte> destination12)
        {
            BinaryPrimitives.WriteUInt64BigEndian(destination12, 0x400000000000000aUL + Seconds);
            BinaryPrimitives.WriteUInt32BigEndian(destination12[8..], 123_456_789); // whitened by the engine
            Seconds += Step;
        }
    }

    private static void InitiateAgain(TwoDevices net)
    {
        net.PeerBOnA.Handshake.LastSentInitiation = 0; // bypass A's own one-per-REKEY_TIMEOUT limit
        net.PeerBOnA.NewHandshakeAt = 1;               // due now
        net.A.Tick();
        net.Pump();
    }

    [Fact]
    public void InitiationsLessThan20msApartAreDropped()
    {
        var timestamps = new SteppedTimestamps();
        using var net = new TwoDevices(timestampsA: timestamps);
        net.Connect();
        net.Clock.Advance(TimeSpan.FromMilliseconds(10));
        InitiateAgain(net);
        Assert.Equal(1, net.B.Drops[DropReason.HandshakeReplay]);
        Assert.Equal(1, net.CountSent(MessageType.Response));

        net.Clock.Advance(TimeSpan.FromMilliseconds(25));
        InitiateAgain(net);
        Assert.Equal(1, net.B.Drops[DropReason.HandshakeReplay]);
        Assert.Equal(2, net.CountSent(MessageType.Response));
    }

    [Fact]
    public void TimestampNotNewerThanTheLastAcceptedIsDropped()
    {
        var timestamps = new SteppedTimestamps { Step = 0 }; // e.g. a reboot that forgot the clock
        using var net = new TwoDevices(timestampsA: timestamps);
        net.Connect();
        net.Clock.Advance(TimeSpan.FromSeconds(1));
        InitiateAgain(net);
        Assert.Equal(1, net.B.Drops[DropReason.HandshakeReplay]);
        Assert.Equal(1, net.CountSent(MessageType.Response));

        timestamps.Seconds += 1; // the daemon moves its floor forward: accepted again
        net.Clock.Advance(TimeSpan.FromSeconds(1));
        InitiateAgain(net);
        Assert.Equal(2, net.CountSent(MessageType.Response));
    }
}
