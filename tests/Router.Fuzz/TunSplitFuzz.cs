using System.Buffers.Binary;
using CsCheck;
using Router.Linux;
using Router.Tunnel.IO;
using Xunit.Abstractions;

namespace Router.Fuzz;

/// <summary>
/// What the TUN reader gets from the kernel with IFF_VNET_HDR: a virtio-net header and a packet, possibly a GSO
/// super-packet. Each input is taken apart exactly as Tun.StartSegments/EmitSegments do (SegmentCount, then
/// WriteSegment per segment into a PacketBuffer-sized span). Properties: nothing throws or reads out of bounds; a
/// malformed header gives 0 segments; the segments' payloads are the super-packet's payload in order, none larger than
/// gso_size; every segment's lengths and TCP/UDP checksum (and IPv4 header checksum) are consistent; TCP sequence
/// numbers advance by the payload; a destination too small gives 0, never a partial write.
/// </summary>
public sealed class TunSplitFuzz(ITestOutputHelper output)
{
    private sealed record Input(int Seed, Mutation[] Steps, int HeaderOverride, byte GsoType, ushort GsoSize, ushort CsumStart, int SmallDestination);

    [Fact]
    public void GsoSuperPacketsSplitIntoSegmentsThatAddUpToTheInput()
    {
        byte[][] seeds = Corpus.Load("tun-vnet");
        var gen = Gen.Select(Gen.Int[0, seeds.Length - 1], Mutation.Steps(6), Gen.Int[0, 7], Gen.OneOf<byte>(0, 1, 4, 5, 0x81, 3, 0xff),
            Gen.Frequency((3, Gen.UShort[1, 1500]), (1, Gen.OneOf<ushort>(0, 1, 2, 65535, 1400))),
            Gen.OneOf<ushort>(0, 19, 20, 24, 40, 60, 100, 1000), Gen.Int[0, 4],
            (seed, steps, h, g, s, c, small) => new Input(seed, steps, h, g, s, c, small));
        byte[] destination = new byte[PacketBuffer.MaxPayload];
        long segments = 0, superPackets = 0, malformed = 0;
        FuzzRun.Run(output, "tun-vnet", gen, input =>
        {
            byte[] read = Mutation.Apply(seeds[input.Seed], input.Steps, seeds, TunOffload.VnetHeaderSize + PacketBuffer.MaxPayload);
            if (read.Length > TunOffload.VnetHeaderSize)
            {
                // Sometimes one header field is replaced outright, so odd combinations are reached directly.
                if (input.HeaderOverride == 1) read[1] = input.GsoType;
                if (input.HeaderOverride == 2) BinaryPrimitives.WriteUInt16LittleEndian(read.AsSpan(4), input.GsoSize);
                if (input.HeaderOverride == 3) BinaryPrimitives.WriteUInt16LittleEndian(read.AsSpan(6), input.CsumStart);
            }
            int n = Split(read, destination, input.SmallDestination);
            if (n < 0) malformed++; else { segments += n; if (n > 1) superPackets++; }
        });
        output.WriteLine($"{superPackets} super-packets split into {segments} segments; {malformed} inputs dropped as malformed");
    }

    /// <summary>Returns the segment count, or -1 for an input the reader drops.</summary>
    private static int Split(byte[] read, byte[] destination, int smallDestination)
    {
        if (read.Length <= TunOffload.VnetHeaderSize)
            return -1;
        var vnet = TunOffload.VnetHeader.Read(read);
        ReadOnlySpan<byte> packet = read.AsSpan(TunOffload.VnetHeaderSize);
        int count = TunOffload.SegmentCount(vnet, packet, out int headerLength);
        if (count == 0)
            return -1;
        bool gso = (vnet.GsoType & ~TunOffload.GsoEcn) != TunOffload.GsoNone;
        Assert.True(count >= 1 && headerLength >= 0 && headerLength <= packet.Length);
        if (!gso)
        {
            Assert.Equal(1, count);
            int length = TunOffload.WriteSegment(vnet, packet, headerLength, 0, 1, destination);
            Assert.Equal(packet.Length, length);
            return 1;
        }

        Assert.True(vnet.GsoSize > 0 && headerLength >= vnet.CsumStart + 8);
        int payload = packet.Length - headerLength, offset = headerLength;
        bool udp = (vnet.GsoType & ~TunOffload.GsoEcn) == TunOffload.GsoUdpL4;
        uint firstSequence = udp ? 0 : BinaryPrimitives.ReadUInt32BigEndian(packet[(vnet.CsumStart + 4)..]);
        for (int i = 0; i < count; i++)
        {
            if (smallDestination == 1 && i == 0)
            {
                // One byte short of this segment: the reader must get 0 and nothing half-written counts.
                int need = headerLength + Math.Min(vnet.GsoSize, Math.Max(0, payload));
                Assert.Equal(0, TunOffload.WriteSegment(vnet, packet, headerLength, i, count, destination.AsSpan(0, need - 1)));
            }
            int length = TunOffload.WriteSegment(vnet, packet, headerLength, i, count, destination);
            Assert.True(length >= headerLength, $"segment {i}: {length} bytes, header {headerLength}");
            int segment = length - headerLength;
            Assert.True(segment <= vnet.GsoSize, $"segment {i}: {segment} bytes over gso_size {vnet.GsoSize}");
            Assert.True(destination.AsSpan(headerLength, segment).SequenceEqual(packet.Slice(offset, segment)), $"segment {i} payload");
            offset += segment;
            AssertConsistent(destination.AsSpan(0, length), vnet.CsumStart, udp);
            if (!udp)
                Assert.Equal(firstSequence + (uint)(i * vnet.GsoSize), BinaryPrimitives.ReadUInt32BigEndian(destination.AsSpan(vnet.CsumStart + 4)));
        }
        Assert.Equal(packet.Length, Math.Max(offset, headerLength));
        return count;
    }

    /// <summary>The segment's own lengths and checksums agree with its bytes (what the receiving stack verifies).</summary>
    private static void AssertConsistent(ReadOnlySpan<byte> segment, int ipLength, bool udp)
    {
        uint protocol = udp ? 17u : 6u;
        int l4Length = segment.Length - ipLength;
        uint pseudo;
        if (segment[0] >> 4 == 4)
        {
            Assert.Equal(segment.Length, BinaryPrimitives.ReadUInt16BigEndian(segment[2..]));
            Assert.Equal(0xffff, TunOffload.Fold(TunOffload.Sum(segment[..ipLength], 0)));
            pseudo = TunOffload.Sum(segment.Slice(12, 8), protocol + (uint)l4Length);
        }
        else
        {
            Assert.Equal(segment.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(segment[4..]));
            pseudo = TunOffload.Sum(segment.Slice(8, 32), protocol + (uint)l4Length);
        }
        if (udp)
            Assert.Equal(l4Length, BinaryPrimitives.ReadUInt16BigEndian(segment[(ipLength + 4)..]));
        Assert.Equal(0xffff, TunOffload.Fold(TunOffload.Sum(segment[ipLength..], pseudo)));
    }
}
