using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>Whatever arrives, the device drops it, counts it and never throws.</summary>
public sealed class DeviceMalformedTests
{
    private static (byte[] Data, Endpoint From, Endpoint To) OneTransport(TwoDevices net, int payload = 64)
    {
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2", payload));
        return net.Net.TakeAll().Single();
    }

    [Fact]
    public void ReplayedTransportIsDropped()
    {
        using var net = new TwoDevices();
        net.Connect();
        var m = OneTransport(net);
        net.Deliver(m.Data, m.From, m.To);
        net.Deliver(m.Data, m.From, m.To);
        Assert.Single(net.TunB.TakeWritten());
        Assert.Equal(1, net.B.Drops[DropReason.ReplayedCounter]);
    }

    [Fact]
    public void ReorderedWithinWindowAcceptedBeyondWindowDropped()
    {
        using var net = new TwoDevices();
        net.Connect();
        var messages = new List<(byte[] Data, Endpoint From, Endpoint To)>();
        for (int i = 0; i < 8200; i++)
            messages.Add(OneTransport(net, 0));
        // Reverse order inside the window: all accepted.
        for (int i = 99; i >= 1; i--)
            net.Deliver(messages[i].Data, messages[i].From, messages[i].To);
        Assert.Equal(99, net.TunB.TakeWritten().Count);
        // Jump ahead, then the held first packet is more than 8128 behind.
        for (int i = 100; i < messages.Count; i++)
            net.Deliver(messages[i].Data, messages[i].From, messages[i].To);
        Assert.Equal(8100, net.TunB.TakeWritten().Count);
        net.Deliver(messages[0].Data, messages[0].From, messages[0].To);
        Assert.Empty(net.TunB.TakeWritten());
        Assert.Equal(1, net.B.Drops[DropReason.ReplayedCounter]);
    }

    [Fact]
    public void TruncatedOversizedWrongKeyWrongIndexWrongTypeAllDropped()
    {
        using var net = new TwoDevices();
        net.Connect();
        var m = OneTransport(net);
        void Send(byte[] data) => net.Deliver(data, m.From, m.To);

        Send(m.Data[..40]);                                   // truncated ciphertext: tag check fails
        Send(m.Data[..20]);                                   // shorter than a keepalive
        Send(m.Data[..3]);                                    // no header
        var flipped = (byte[])m.Data.Clone();
        flipped[30] ^= 1;
        Send(flipped);                                        // wrong key / corrupted
        var wrongIndex = (byte[])m.Data.Clone();
        wrongIndex[4] ^= 0xFF;
        Send(wrongIndex);
        var wrongType = (byte[])m.Data.Clone();
        wrongType[0] = 9;
        Send(wrongType);
        var reserved = (byte[])m.Data.Clone();
        reserved[2] = 1;
        Send(reserved);
        var initiation = net.Net.Log.First(e => e.Data[0] == 1).Data;
        Send([.. initiation, 0]);                             // oversized handshake
        Send(initiation[..100]);                              // truncated handshake
        Send(new byte[64] { 3, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }); // cookie reply for nobody

        Assert.Equal(2, net.B.Drops[DropReason.DecryptFailed]);
        Assert.Equal(3, net.B.Drops[DropReason.TooShort]);
        Assert.Equal(2, net.B.Drops[DropReason.UnknownIndex]);
        Assert.Equal(2, net.B.Drops[DropReason.UnknownType]);
        Assert.Equal(1, net.B.Drops[DropReason.BadSize]);
        Assert.Empty(net.TunB.TakeWritten());

        Send(m.Data); // the genuine one still gets through
        Assert.Single(net.TunB.TakeWritten());
    }

    [Fact]
    public void DatagramsLongerThanAnyMessageAndAMixedBatchAreEachDroppedAndCounted()
    {
        // What a GRO batch can hand over: segments of one size but any type, and datagrams up to 64 KiB.
        using var net = new TwoDevices();
        net.Connect();
        var m = OneTransport(net);
        var huge = new byte[65507];
        new Random(3).NextBytes(huge);
        byte[] Typed(byte[] body, byte type)
        {
            var copy = (byte[])body.Clone();
            copy[0] = type;
            copy[1] = copy[2] = copy[3] = 0;
            return copy;
        }
        byte[] longTransport = [.. m.Data.AsSpan(0, 16), .. huge.AsSpan(16)];
        var batch = new List<byte[]>
        {
            Typed(huge, 1), Typed(huge, 2), Typed(huge, 3), // longer than any handshake or cookie message
            longTransport,                                  // a transport that long, to the live session: fails its tag
            Typed(huge, 5),
            m.Data,                                         // the genuine one, in the middle
            Typed(m.Data, 1), Typed(m.Data, 2), Typed(m.Data, 3), // the transport's size (128), other types
            m.Data,                                         // and its replay
        };
        long before = net.B.Drops.Total;
        DeviceDosTests.DeliverBatchToB(net, batch, _ => m.From);
        Assert.Single(net.TunB.TakeWritten());
        Assert.Equal(3 + 2, net.B.Drops[DropReason.BadSize]);
        Assert.Equal(1, net.B.Drops[DropReason.TooShort]); // 128 bytes of type 1
        Assert.Equal(1, net.B.Drops[DropReason.DecryptFailed]);
        Assert.Equal(1, net.B.Drops[DropReason.UnknownType]);
        Assert.Equal(1, net.B.Drops[DropReason.ReplayedCounter]);
        Assert.Equal(batch.Count - 1, net.B.Drops.Total - before);
    }

    [Fact]
    public void RandomGarbageNeverThrows()
    {
        using var net = new TwoDevices();
        net.Connect();
        var random = new Random(42);
        var from = Endpoint.FromBytes([203, 0, 113, 1], 999);
        var to = Endpoint.FromBytes(TwoDevices.AddressB, TwoDevices.PortB);
        int[] sizes = [0, 1, 4, 31, 32, 33, 64, 92, 148, 200, 1500];
        for (int i = 0; i < 3000; i++)
        {
            var data = new byte[sizes[random.Next(sizes.Length)]];
            random.NextBytes(data);
            if (data.Length >= 4 && random.Next(4) != 0)
            {
                data[0] = (byte)random.Next(1, 5);
                data[1] = data[2] = data[3] = 0;
            }
            net.Deliver(data, from, to);
            net.Deliver(data, from, Endpoint.FromBytes(TwoDevices.AddressA, TwoDevices.PortA));
        }
        Assert.Equal(6000, net.A.Drops.Total + net.B.Drops.Total);
    }

    [Fact]
    public void DecryptedGarbageThatIsNotIpIsDropped()
    {
        using var net = new TwoDevices();
        net.Connect();
        byte[] bad = Ip.V4("10.0.0.1", "10.0.0.2");
        bad[2] = 0xFF; // total length beyond what arrived
        bad[3] = 0xFF;
        net.SendFromA(bad);
        net.Pump();
        Assert.Equal(1, net.B.Drops[DropReason.InvalidInnerPacket]);
    }
}
