using System.Buffers.Binary;
using CsCheck;
using Router.Linux;
using Router.Tunnel.IO;
using Xunit.Abstractions;

namespace Router.Fuzz;

/// <summary>
/// The TUN write side: a batch of decrypted packets (up to three TCP/UDP flows per family, mostly mergeable, with
/// every header difference the GRO rules look at, and some damaged) planned by <see cref="TunCoalescer"/>, gathered
/// as Tun.WriteCoalesced does (vnet header + first packet + the others' payloads), then split again as the kernel's
/// GSO would (<see cref="TunOffload"/>). Property: what comes out is exactly what went in, each flow in its order
/// (flows may pass one another); only the IPv4 ID of a fixed-ID run under DF may differ, as the kernel allows.
/// </summary>
public sealed class TunCoalesceFuzz(ITestOutputHelper output)
{
    private sealed record Input(PacketShape[] Shapes, bool Udp);

    [Fact]
    public void CoalescedWritesSplitBackIntoTheSamePacketsInFlowOrder()
    {
        var gen = Gen.Select(InnerPacket.Shape.Array[1, 64], Gen.Bool, (s, u) => new Input(s, u));
        var coalescer = new TunCoalescer(64, udp: true);
        var plainCoalescer = new TunCoalescer(64, udp: false);
        var buffers = new PacketBuffer[64];
        for (int i = 0; i < buffers.Length; i++)
            buffers[i] = new PacketBuffer();
        byte[] segment = new byte[PacketBuffer.MaxPayload];
        FuzzRun.Run(output, "tun-coalesce", gen, input =>
        {
            List<byte[]> packets = InnerPacket.Batch(input.Shapes);
            for (int i = 0; i < packets.Count; i++)
            {
                buffers[i].Reset();
                packets[i].CopyTo(buffers[i].Data.AsSpan(PacketBuffer.Headroom));
                buffers[i].Length = packets[i].Length;
            }
            TunCoalescer c = input.Udp ? coalescer : plainCoalescer;
            ReadOnlySpan<PacketBuffer> batch = buffers.AsSpan(0, packets.Count);
            c.Plan(batch);

            var received = new List<byte[]>();
            for (int w = 0; w < c.WriteCount; w++)
            {
                byte[] written = Gather(c, batch, w);
                var vnet = TunOffload.VnetHeader.Read(written);
                ReadOnlySpan<byte> super = written.AsSpan(TunOffload.VnetHeaderSize);
                int count = TunOffload.SegmentCount(vnet, super, out int headerLength);
                if ((vnet.GsoType & ~TunOffload.GsoEcn) == TunOffload.GsoNone)
                {
                    // A plain write goes to the kernel as it came (the kernel drops what is malformed).
                    Assert.True(vnet.Flags == 0 && vnet.GsoSize == 0, "a plain write with a header");
                    received.Add(super.ToArray());
                    continue;
                }
                Assert.True(count > 1, $"write {w}: a super-packet that does not split ({count})");
                for (int i = 0; i < count; i++)
                {
                    int length = TunOffload.WriteSegment(vnet, super, headerLength, i, count, segment);
                    received.Add(segment.AsSpan(0, length).ToArray());
                }
            }
            AssertSameInFlowOrder(packets, received);
        });
        output.WriteLine($"{coalescer.SuperPackets + plainCoalescer.SuperPackets} super-packets, {coalescer.Merged + plainCoalescer.Merged} packets merged");
    }

    /// <summary>The bytes Tun.WriteCoalesced hands to writev for write <paramref name="w"/>.</summary>
    private static byte[] Gather(TunCoalescer c, ReadOnlySpan<PacketBuffer> batch, int w)
    {
        int head = c.Head(w), skip = c.HeaderLength(w);
        var bytes = new List<byte>();
        bytes.AddRange(batch[head].Data.AsSpan(batch[head].Offset - TunOffload.VnetHeaderSize, TunOffload.VnetHeaderSize + batch[head].Length).ToArray());
        for (int j = c.Next(head); j >= 0; j = c.Next(j))
            bytes.AddRange(batch[j].Payload[skip..].ToArray());
        return bytes.ToArray();
    }

    private static void AssertSameInFlowOrder(List<byte[]> sent, List<byte[]> received)
    {
        Assert.Equal(sent.Count, received.Count);
        var sentFlows = new Dictionary<string, Queue<byte[]>>();
        foreach (byte[] p in sent)
        {
            string key = FlowKey(p);
            if (!sentFlows.TryGetValue(key, out Queue<byte[]>? q))
                sentFlows[key] = q = new Queue<byte[]>();
            q.Enqueue(p);
        }
        for (int i = 0; i < received.Count; i++)
        {
            byte[] got = received[i];
            string key = FlowKey(got);
            Assert.True(sentFlows.TryGetValue(key, out Queue<byte[]>? q) && q.Count > 0, $"packet {i}: {got.Length} bytes of a flow that sent nothing more");
            byte[] expected = q!.Dequeue();
            if (!SamePacket(expected, got))
            {
                int at = 0;
                while (at < Math.Min(expected.Length, got.Length) && expected[at] == got[at])
                    at++;
                Assert.Fail($"packet {i} of flow {key}: {got.Length} bytes, expected {expected.Length}; first difference at byte {at}: " +
                    $"{Convert.ToHexString(got.AsSpan(0, Math.Min(64, got.Length)))} expected {Convert.ToHexString(expected.AsSpan(0, Math.Min(64, expected.Length)))}");
            }
        }
    }

    /// <summary>
    /// Addresses, protocol and ports as any IP stack would read them (the IHL-given offset); a packet too short to
    /// read them from is its own flow, keyed by its bytes.
    /// </summary>
    private static string FlowKey(byte[] p)
    {
        if (p.Length >= 20 && p[0] >> 4 == 4)
        {
            int ihl = (p[0] & 15) * 4;
            if (ihl >= 20 && p.Length >= ihl + 4)
                return $"4 {Convert.ToHexString(p.AsSpan(12, 8))} {p[9]} {Convert.ToHexString(p.AsSpan(ihl, 4))}";
        }
        else if (p.Length >= 44 && p[0] >> 4 == 6)
        {
            return $"6 {Convert.ToHexString(p.AsSpan(8, 32))} {p[6]} {Convert.ToHexString(p.AsSpan(40, 4))}";
        }
        return "raw " + Convert.ToHexString(p);
    }

    /// <summary>
    /// Byte for byte, except what the kernel's GRO does not keep either: the IPv4 ID (and so the header checksum) of
    /// a DF packet, and a TCP urgent pointer without URG (meaningless, RFC 9293 3.1; so the TCP checksum too).
    /// </summary>
    private static bool SamePacket(byte[] expected, byte[] got)
    {
        if (expected.AsSpan().SequenceEqual(got))
            return true;
        if (expected.Length != got.Length || expected.Length < 20)
            return false;
        byte[] a = (byte[])expected.Clone(), b = (byte[])got.Clone();
        bool v4 = expected[0] == 0x45;
        int tcp = v4 ? (expected[9] == 6 ? 20 : -1) : expected[0] >> 4 == 6 && expected[6] == 6 ? 40 : -1;
        foreach (byte[] x in new[] { a, b })
        {
            if (v4 && (expected[6] & 0x40) != 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(x.AsSpan(4), 0);
                x[10] = x[11] = 0;
            }
            if (tcp > 0 && x.Length >= tcp + 20 && (x[tcp + 13] & 0x20) == 0)
            {
                x[tcp + 16] = x[tcp + 17] = 0;
                x[tcp + 18] = x[tcp + 19] = 0;
            }
        }
        return a.AsSpan().SequenceEqual(b);
    }
}
