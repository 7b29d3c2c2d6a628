using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Router.Tunnel.IO;

namespace Router.Linux.Tests;

/// <summary>
/// GRO on TUN writes, on crafted packets: what merges and what must not (the kernel's rules), and the super-packet
/// it writes: lengths, vnet header, a partial checksum that completes to the from-scratch checksum, and a split by the
/// read path (the kernel's GSO in miniature) that gives back the original packets byte for byte.
/// </summary>
public sealed class TunCoalescerTests
{
    private const byte Ack = 0x10, Psh = 0x08;
    private const int Mss = 1000;

    private static bool ChecksumValid(ReadOnlySpan<byte> data, uint pseudo) => TunOffload.Fold(TunOffload.Sum(data, pseudo)) == 0xffff;

    /// <summary>
    /// One TCP segment (timestamps option) or UDP datagram in a packet buffer at the standard offset, with valid
    /// checksums computed after <paramref name="mutate"/> changed it (so a mutated header is still a valid packet).
    /// </summary>
    private static PacketBuffer Packet(bool v4, bool udp, int index, byte[] payload, byte flags = Ack, ushort port = 40000,
        Action<byte[]>? mutate = null, bool breakChecksum = false)
    {
        int ipLength = v4 ? 20 : 40, l4Header = udp ? 8 : 32;
        var p = new byte[ipLength + l4Header + payload.Length];
        if (v4)
        {
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(0xfffe + index)); // IDs wrap
            p[6] = 0x40;
            p[8] = 64;
            p[9] = (byte)(udp ? 17 : 6);
            IPAddress.Parse("10.99.0.1").TryWriteBytes(p.AsSpan(12), out _);
            IPAddress.Parse("10.99.0.2").TryWriteBytes(p.AsSpan(16), out _);
        }
        else
        {
            p[0] = 0x60;
            p[2] = 0x12; // a flow label
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
            p[6] = (byte)(udp ? 17 : 6);
            p[7] = 64;
            IPAddress.Parse("fd99::1").TryWriteBytes(p.AsSpan(8), out _);
            IPAddress.Parse("fd99::2").TryWriteBytes(p.AsSpan(24), out _);
        }
        Span<byte> l4 = p.AsSpan(ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(l4, port);
        BinaryPrimitives.WriteUInt16BigEndian(l4[2..], 5201);
        if (udp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)l4.Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(l4[4..], unchecked(0xffff_fc00u + (uint)(index * Mss))); // sequence wraps
            BinaryPrimitives.WriteUInt32BigEndian(l4[8..], 12345);
            l4[12] = 8 << 4;
            l4[13] = flags;
            BinaryPrimitives.WriteUInt16BigEndian(l4[14..], 501);
            l4[20] = 1; l4[21] = 1; l4[22] = 8; l4[23] = 10; // NOP NOP timestamps
            BinaryPrimitives.WriteUInt32BigEndian(l4[24..], 777);
        }
        payload.CopyTo(l4[l4Header..]);
        mutate?.Invoke(p);
        FixChecksums(p, breakChecksum);
        var buffer = new PacketBuffer(2048) { Length = p.Length };
        p.CopyTo(buffer.Payload);
        return buffer;
    }

    private static void FixChecksums(byte[] p, bool breakChecksum)
    {
        bool v4 = p[0] >> 4 == 4;
        int ipLength = v4 ? (p[0] & 0xf) * 4 : 40;
        int protocol = v4 ? p[9] : p[6];
        if (v4)
        {
            p[10] = p[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), (ushort)~TunOffload.Fold(TunOffload.Sum(p.AsSpan(0, ipLength), 0)));
        }
        Span<byte> l4 = p.AsSpan(ipLength);
        int at = protocol == 17 ? 6 : 16;
        l4[at] = l4[at + 1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(l4[at..], (ushort)~TunOffload.Fold(TunOffload.Sum(l4, Pseudo(p, ipLength, protocol, l4.Length))));
        if (breakChecksum)
            l4[at] ^= 0x40;
    }

    private static uint Pseudo(ReadOnlySpan<byte> p, int ipLength, int protocol, int l4Length)
        => p[0] >> 4 == 4 ? TunOffload.Sum(p.Slice(12, 8), (uint)(protocol + l4Length)) : TunOffload.Sum(p.Slice(8, 32), (uint)(protocol + l4Length));

    private static byte[] Payload(int length, int seed)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>The bytes of write <paramref name="w"/> as the TUN receives them: vnet header, first packet, payloads.</summary>
    private static byte[] Gather(TunCoalescer c, PacketBuffer[] batch, int w)
    {
        int head = c.Head(w), skip = c.HeaderLength(w);
        var bytes = new List<byte>(batch[head].Data.AsSpan(batch[head].Offset - TunOffload.VnetHeaderSize, TunOffload.VnetHeaderSize + batch[head].Length).ToArray());
        for (int j = c.Next(head); j >= 0; j = c.Next(j))
            bytes.AddRange(batch[j].Payload[skip..].ToArray());
        return bytes.ToArray();
    }

    /// <summary>Packet indices per write, in write order.</summary>
    private static List<List<int>> Writes(TunCoalescer c)
    {
        var writes = new List<List<int>>();
        for (int w = 0; w < c.WriteCount; w++)
        {
            var members = new List<int>();
            for (int j = c.Head(w); j >= 0; j = c.Next(j))
                members.Add(j);
            writes.Add(members);
        }
        return writes;
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void Consecutive_segments_become_one_super_packet_that_splits_back_into_the_originals(bool v4, bool udp)
    {
        // Five full segments and a shorter last one with PSH, as a sender's TSO would produce them.
        var originals = new List<byte[]>();
        var batch = new PacketBuffer[6];
        for (int i = 0; i < batch.Length; i++)
        {
            bool last = i == batch.Length - 1;
            batch[i] = Packet(v4, udp, i, Payload(last ? 321 : Mss, i), flags: last ? (byte)(Ack | Psh) : Ack);
            originals.Add(batch[i].Payload.ToArray());
        }
        var c = new TunCoalescer(128, udp: true);
        c.Plan(batch);
        Assert.Equal([[0, 1, 2, 3, 4, 5]], Writes(c));
        Assert.Equal(1, c.SuperPackets);
        Assert.Equal(5, c.Merged);

        byte[] written = Gather(c, batch, 0);
        var vnet = TunOffload.VnetHeader.Read(written);
        byte[] super = written[TunOffload.VnetHeaderSize..];
        int ipLength = v4 ? 20 : 40, l4Header = udp ? 8 : 32;
        Assert.Equal(TunOffload.NeedsCsum, vnet.Flags);
        Assert.Equal(udp ? TunOffload.GsoUdpL4 : v4 ? TunOffload.GsoTcpV4 : TunOffload.GsoTcpV6, vnet.GsoType);
        Assert.Equal(Mss, vnet.GsoSize);
        Assert.Equal(ipLength, vnet.CsumStart);
        Assert.Equal(udp ? 6 : 16, vnet.CsumOffset);
        Assert.Equal(ipLength + l4Header, BinaryPrimitives.ReadUInt16LittleEndian(written.AsSpan(2))); // hdr_len
        Assert.Equal(ipLength + l4Header + 5 * Mss + 321, super.Length);
        if (v4)
        {
            Assert.Equal(super.Length, BinaryPrimitives.ReadUInt16BigEndian(super.AsSpan(2)));
            Assert.True(ChecksumValid(super.AsSpan(0, 20), 0), "IPv4 header checksum of the super-packet");
        }
        else
        {
            Assert.Equal(super.Length - 40, BinaryPrimitives.ReadUInt16BigEndian(super.AsSpan(4)));
        }

        // The partial checksum completed as the kernel would equals the super-packet's checksum computed from scratch.
        int protocol = udp ? 17 : 6, at = ipLength + vnet.CsumOffset, l4Length = super.Length - ipLength;
        ushort completed = (ushort)~TunOffload.Fold(TunOffload.Sum(super.AsSpan(ipLength), 0));
        byte[] scratch = (byte[])super.Clone();
        scratch[at] = scratch[at + 1] = 0;
        ushort fromScratch = (ushort)~TunOffload.Fold(TunOffload.Sum(scratch.AsSpan(ipLength), Pseudo(scratch, ipLength, protocol, l4Length)));
        Assert.Equal(fromScratch, completed);

        // Split by the read path (tcp_gso_segment / __udp_gso_segment in miniature): the very packets that went in.
        int count = TunOffload.SegmentCount(vnet, super, out int headerLength);
        Assert.Equal(6, count);
        var buffer = new byte[4096];
        for (int i = 0; i < count; i++)
        {
            int length = TunOffload.WriteSegment(vnet, super, headerLength, i, count, buffer);
            Assert.Equal(originals[i], buffer.AsSpan(0, length).ToArray());
        }
    }

    public static TheoryData<string> Breakers => new()
    {
        "syn", "fin", "rst", "urg", "cwr", "sequence gap", "ack", "window", "timestamp", "option length", "ttl", "tos",
        "no df", "ip id", "ipv4 options", "fragment", "bad checksum", "longer than the first", "pure ack",
    };

    [Theory]
    [MemberData(nameof(Breakers))]
    public void A_segment_that_breaks_a_gro_rule_is_written_alone_and_ends_the_super_packet(string breaker)
    {
        // Packet 1 of three is changed (and its checksums made valid again, except for "bad checksum"); it must not
        // join packet 0, and packet 2 must not join packet 0 either, or it would overtake packet 1. (A fragment or a
        // packet with IPv4 options has no flow to end, but it took packet 2's predecessor IPv4 ID, as a real one would.)
        Action<byte[]> mutate = breaker switch
        {
            "syn" => p => p[20 + 13] |= 0x02,
            "fin" => p => p[20 + 13] |= 0x01,
            "rst" => p => p[20 + 13] |= 0x04,
            "urg" => p => p[20 + 13] |= 0x20,
            "cwr" => p => p[20 + 13] |= 0x80,
            "sequence gap" => p => p[20 + 7] += 1,
            "ack" => p => p[20 + 11] += 1,
            "window" => p => p[20 + 15] += 1,
            "timestamp" => p => p[20 + 27] += 1,
            "ttl" => p => p[8] = 63,
            "tos" => p => p[1] = 0x10,
            "no df" => p => p[6] = 0,
            "ip id" => p => p[5] += 7,
            "fragment" => p => p[6] |= 0x20, // MF
            _ => _ => { },
        };
        PacketBuffer second = breaker switch
        {
            "bad checksum" => Packet(true, false, 1, Payload(Mss, 1), breakChecksum: true),
            "longer than the first" => Packet(true, false, 1, Payload(Mss + 1, 1)),
            "pure ack" => Packet(true, false, 1, []),
            "option length" => OptionLength(),
            "ipv4 options" => WithIpOptions(),
            _ => Packet(true, false, 1, Payload(Mss, 1), mutate: mutate),
        };
        var batch = new[] { Packet(true, false, 0, Payload(Mss, 0)), second, Packet(true, false, 2, Payload(Mss, 2)) };
        var c = new TunCoalescer(128, udp: true);
        c.Plan(batch);
        List<List<int>> writes = Writes(c);
        Assert.Equal([0], writes[0]);
        Assert.Equal(1, writes[1][0]);
        Assert.Equal([0, 1, 2], writes.SelectMany(w => w).ToList()); // order kept
        Assert.Equal(new byte[TunOffload.VnetHeaderSize], batch[0].Data.AsSpan(batch[0].Offset - TunOffload.VnetHeaderSize, TunOffload.VnetHeaderSize).ToArray());
    }

    private static PacketBuffer OptionLength()
    {
        // 12 more bytes of options: data offset 11 instead of 8.
        byte[] payload = Payload(Mss, 1);
        PacketBuffer b = Packet(true, false, 1, payload);
        var p = new byte[b.Length + 12];
        b.Payload[..52].CopyTo(p);
        p[20 + 32] = 1; // NOPs
        p.AsSpan(20 + 33, 11).Fill(1);
        payload.CopyTo(p.AsSpan(64));
        p[20 + 12] = 11 << 4;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        FixChecksums(p, false);
        b.Length = p.Length;
        p.CopyTo(b.Payload);
        return b;
    }

    private static PacketBuffer WithIpOptions()
    {
        byte[] payload = Payload(Mss, 1);
        PacketBuffer b = Packet(true, false, 1, payload);
        var p = new byte[b.Length + 4];
        b.Payload[..20].CopyTo(p);
        p[0] = 0x46;
        p[20] = 1; p[21] = 1; p[22] = 1; p[23] = 0; // NOP NOP NOP EOL
        b.Payload[20..].CopyTo(p.AsSpan(24));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        FixChecksums(p, false);
        b.Length = p.Length;
        p.CopyTo(b.Payload);
        return b;
    }

    [Fact]
    public void A_packet_of_the_flow_that_cannot_merge_is_not_overtaken_by_the_flows_next_segment()
    {
        // Found by tests/Router.Fuzz (TunCoalesceFuzz): an IPv6 segment carrying a hop-by-hop extension header is
        // written plain; the flow's next segment used to join the super-packet before it and so overtake it.
        PacketBuffer plain = Packet(false, false, 1, Payload(Mss, 1));
        var p = new byte[plain.Length + 8];
        plain.Payload[..40].CopyTo(p);
        p[6] = 0;  // next header: hop-by-hop options
        p[40] = 6; // then TCP; length 0 (8 bytes), PadN
        p[42] = 1;
        p[43] = 4;
        plain.Payload[40..].CopyTo(p.AsSpan(48));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
        plain.Length = p.Length;
        p.CopyTo(plain.Payload);
        var batch = new[] { Packet(false, false, 0, Payload(Mss, 0)), plain, Packet(false, false, 1, Payload(Mss, 1)) };
        var c = new TunCoalescer(128, udp: false);
        c.Plan(batch);
        Assert.Equal([[0], [1], [2]], Writes(c));
    }

    [Fact]
    public void A_shorter_segment_ends_the_super_packet_and_flows_interleaved_in_a_batch_each_merge()
    {
        var batch = new[]
        {
            Packet(true, false, 0, Payload(Mss, 0)),
            Packet(false, false, 0, Payload(Mss, 10)),
            Packet(true, false, 1, Payload(Mss, 1)),
            Packet(false, false, 1, Payload(Mss, 11)),
            Packet(true, false, 2, Payload(500, 2)),  // shorter: the last of its super-packet
            Packet(true, false, 3, Payload(Mss, 3), mutate: p => BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(24), unchecked(0xffff_fc00u + 2 * Mss + 500))),
            Packet(true, false, 0, Payload(Mss, 20), port: 40001), // another flow: same addresses, another port
        };
        var c = new TunCoalescer(128, udp: false);
        c.Plan(batch);
        Assert.Equal([[0, 2, 4], [1, 3], [5], [6]], Writes(c));
    }

    [Fact]
    public void A_fixed_ipv4_id_merges_only_under_df()
    {
        static void SameId(byte[] p) => BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0xfffe);
        var fixedDf = new[] { Packet(true, false, 0, Payload(Mss, 0)), Packet(true, false, 1, Payload(Mss, 1), mutate: SameId), Packet(true, false, 2, Payload(Mss, 2), mutate: SameId) };
        var c = new TunCoalescer(128, udp: false);
        c.Plan(fixedDf);
        Assert.Equal([[0, 1, 2]], Writes(c));

        static void SameIdNoDf(byte[] p) { SameId(p); p[6] = 0; }
        var fixedNoDf = new[] { Packet(true, false, 0, Payload(Mss, 0), mutate: p => p[6] = 0), Packet(true, false, 1, Payload(Mss, 1), mutate: SameIdNoDf) };
        c.Plan(fixedNoDf);
        Assert.Equal([[0], [1]], Writes(c));
    }

    [Fact]
    public void Udp_merges_only_when_the_kernel_took_uso_and_other_packets_go_plain()
    {
        byte[] icmp = new byte[84];
        icmp[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(2), 84);
        icmp[8] = 64;
        icmp[9] = 1;
        var ping = new PacketBuffer(2048) { Length = icmp.Length };
        icmp.CopyTo(ping.Payload);
        ping.Data.AsSpan(ping.Offset - TunOffload.VnetHeaderSize, TunOffload.VnetHeaderSize).Fill(0xee); // stale bytes
        var batch = new[] { Packet(true, true, 0, Payload(Mss, 0)), ping, Packet(true, true, 1, Payload(Mss, 1)), Packet(true, true, 2, Payload(Mss, 2)) };

        var without = new TunCoalescer(128, udp: false);
        without.Plan(batch);
        Assert.Equal([[0], [1], [2], [3]], Writes(without));

        var with = new TunCoalescer(128, udp: true);
        with.Plan(batch);
        Assert.Equal([[0, 2, 3], [1]], Writes(with));
        Assert.Equal(new byte[TunOffload.VnetHeaderSize], ping.Data.AsSpan(ping.Offset - TunOffload.VnetHeaderSize, TunOffload.VnetHeaderSize).ToArray());
        Assert.Equal(icmp, ping.Payload.ToArray()); // untouched
    }

    [Fact]
    public void A_udp_super_packet_from_the_kernel_splits_into_datagrams_with_valid_checksums()
    {
        // USO on reads: GSO_UDP_L4, checksum field = pseudo-header sum over the whole (CHECKSUM_PARTIAL).
        byte[] payload = RandomNumberGenerator.GetBytes(1200 * 7 + 77);
        var p = new byte[40 + 8 + payload.Length];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
        p[6] = 17;
        p[7] = 64;
        IPAddress.Parse("fd99::1").TryWriteBytes(p.AsSpan(8), out _);
        IPAddress.Parse("fd99::2").TryWriteBytes(p.AsSpan(24), out _);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(40), 1111);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(42), 2222);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(44), (ushort)(p.Length - 40));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(46), TunOffload.Fold(Pseudo(p, 40, 17, p.Length - 40)));
        payload.CopyTo(p.AsSpan(48));
        var vnet = new TunOffload.VnetHeader(TunOffload.NeedsCsum, TunOffload.GsoUdpL4, 1200, 40, 6);
        int count = TunOffload.SegmentCount(vnet, p, out int headerLength);
        Assert.Equal(8, count);
        Assert.Equal(48, headerLength);
        var carried = new List<byte>();
        var buffer = new byte[2048];
        for (int i = 0; i < count; i++)
        {
            int length = TunOffload.WriteSegment(vnet, p, headerLength, i, count, buffer);
            Span<byte> s = buffer.AsSpan(0, length);
            Assert.Equal(i < count - 1 ? 48 + 1200 : 48 + 77, length);
            Assert.Equal(length - 40, BinaryPrimitives.ReadUInt16BigEndian(s[4..]));
            Assert.Equal(length - 40, BinaryPrimitives.ReadUInt16BigEndian(s[44..]));
            Assert.True(ChecksumValid(s[40..], Pseudo(s, 40, 17, length - 40)), $"UDP checksum of datagram {i}");
            carried.AddRange(s[48..].ToArray());
        }
        Assert.Equal(payload, carried.ToArray());
        // The wrong transport protocol for the GSO type is malformed.
        p[6] = 6;
        Assert.Equal(0, TunOffload.SegmentCount(vnet, p, out _));
    }
}
