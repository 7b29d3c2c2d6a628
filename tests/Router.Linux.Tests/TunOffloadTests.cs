using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Router.Tunnel.IO;

namespace Router.Linux.Tests;

/// <summary>TSO super-packets from the TUN split into segments a receiver accepts: lengths, sequence, flags, checksums.</summary>
public sealed class TunOffloadTests
{
    private static bool ChecksumValid(ReadOnlySpan<byte> data, uint pseudo) => TunOffload.Fold(TunOffload.Sum(data, pseudo)) == 0xffff;

    /// <summary>A TCP super-packet as the kernel hands it over: checksum field = pseudo-header sum only (CHECKSUM_PARTIAL).</summary>
    private static (byte[] Packet, TunOffload.VnetHeader Vnet) SuperPacket(bool v4, byte[] payload, int mss, byte flags)
    {
        int ipLength = v4 ? 20 : 40, tcpLength = 32;
        var p = new byte[ipLength + tcpLength + payload.Length];
        if (v4)
        {
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)Math.Min(p.Length, 65535));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0xfffe); // the ID wraps within the packet
            p[6] = 0x40;
            p[8] = 64;
            p[9] = 6;
            IPAddress.Parse("10.99.0.1").TryWriteBytes(p.AsSpan(12), out _);
            IPAddress.Parse("10.99.0.2").TryWriteBytes(p.AsSpan(16), out _);
        }
        else
        {
            p[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
            p[6] = 6;
            p[7] = 64;
            IPAddress.Parse("fd99::1").TryWriteBytes(p.AsSpan(8), out _);
            IPAddress.Parse("fd99::2").TryWriteBytes(p.AsSpan(24), out _);
        }
        Span<byte> tcp = p.AsSpan(ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 0xffff_f000); // the sequence wraps too
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], 12345);
        tcp[12] = (byte)((tcpLength / 4) << 4);
        tcp[13] = flags;
        tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10; // NOP NOP timestamps
        payload.CopyTo(tcp[tcpLength..]);
        byte gso = v4 ? TunOffload.GsoTcpV4 : TunOffload.GsoTcpV6;
        return (p, new TunOffload.VnetHeader(TunOffload.NeedsCsum, gso, (ushort)mss, (ushort)ipLength, 16));
    }

    [Theory]
    [InlineData(true, 1380, 20000)]
    [InlineData(false, 1360, 20000)]
    [InlineData(true, 1380, 1380 * 3)] // the last segment full
    [InlineData(true, 34000, 64000)] // jumbo MTU
    public void Super_packets_split_into_valid_segments_carrying_the_same_bytes(bool v4, int mss, int payloadLength)
    {
        byte[] payload = RandomNumberGenerator.GetBytes(payloadLength);
        const byte AckPshFinCwr = 0x10 | 0x08 | 0x01 | 0x80;
        var (packet, vnet) = SuperPacket(v4, payload, mss, AckPshFinCwr);
        int count = TunOffload.SegmentCount(vnet, packet, out int headerLength);
        Assert.Equal((payloadLength + mss - 1) / mss, count);
        Assert.Equal((v4 ? 20 : 40) + 32, headerLength);

        var carried = new List<byte>();
        var buffer = new byte[65536];
        for (int i = 0; i < count; i++)
        {
            int length = TunOffload.WriteSegment(vnet, packet, headerLength, i, count, buffer);
            Span<byte> s = buffer.AsSpan(0, length);
            int ipLength = v4 ? 20 : 40;
            Span<byte> tcp = s[ipLength..];
            uint pseudo;
            if (v4)
            {
                Assert.Equal(length, BinaryPrimitives.ReadUInt16BigEndian(s[2..]));
                Assert.Equal((ushort)(0xfffe + i), BinaryPrimitives.ReadUInt16BigEndian(s[4..]));
                Assert.True(ChecksumValid(s[..20], 0), "IPv4 header checksum");
                pseudo = TunOffload.Sum(s.Slice(12, 8), 6u + (uint)tcp.Length);
            }
            else
            {
                Assert.Equal(length - 40, BinaryPrimitives.ReadUInt16BigEndian(s[4..]));
                pseudo = TunOffload.Sum(s.Slice(8, 32), 6u + (uint)tcp.Length);
            }
            Assert.True(ChecksumValid(tcp, pseudo), $"TCP checksum of segment {i}");
            Assert.Equal(unchecked(0xffff_f000u + (uint)(i * mss)), BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]));
            bool last = i == count - 1;
            Assert.Equal(last, (tcp[13] & 0x09) == 0x09); // PSH and FIN on the last only
            Assert.Equal(i == 0, (tcp[13] & 0x80) != 0); // CWR on the first only
            Assert.True((tcp[13] & 0x10) != 0);
            Assert.Equal(packet.AsSpan(ipLength + 20, 12).ToArray(), tcp.Slice(20, 12).ToArray()); // options repeated
            Assert.True(tcp.Length - 32 <= mss);
            carried.AddRange(tcp[32..].ToArray());
        }
        Assert.Equal(payload, carried.ToArray());
    }

    [Fact]
    public void A_plain_packet_with_a_partial_checksum_is_completed()
    {
        // UDP/IPv4 whose checksum field holds only the pseudo-header sum, as with CHECKSUM_PARTIAL.
        byte[] payload = RandomNumberGenerator.GetBytes(999);
        var packet = new byte[28 + payload.Length];
        Packets.WriteUdp4(packet, IPAddress.Parse("10.1.0.1"), 1000, IPAddress.Parse("10.1.0.2"), 2000, payload);
        uint pseudo = TunOffload.Sum(packet.AsSpan(12, 8), 17u + (uint)(8 + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(26), TunOffload.Fold(pseudo));
        var vnet = new TunOffload.VnetHeader(TunOffload.NeedsCsum, TunOffload.GsoNone, 0, 20, 6);
        Assert.Equal(1, TunOffload.SegmentCount(vnet, packet, out _));
        var buffer = new byte[2048];
        int length = TunOffload.WriteSegment(vnet, packet, 0, 0, 1, buffer);
        Assert.Equal(packet.Length, length);
        Assert.True(ChecksumValid(buffer.AsSpan(20, length - 20), pseudo));
        Assert.Equal(payload, buffer.AsSpan(28, payload.Length).ToArray());
    }

    [Fact]
    public void Malformed_super_packets_are_refused()
    {
        var (packet, vnet) = SuperPacket(true, new byte[5000], 1380, 0x10);
        Assert.Equal(0, TunOffload.SegmentCount(new TunOffload.VnetHeader(1, TunOffload.GsoTcpV4, 0, 20, 16), packet, out _));
        Assert.Equal(0, TunOffload.SegmentCount(new TunOffload.VnetHeader(1, TunOffload.GsoTcpV6, 1380, 40, 16), packet, out _));
        Assert.Equal(0, TunOffload.SegmentCount(new TunOffload.VnetHeader(1, 3 /* UDP */, 1380, 20, 6), packet, out _));
        Assert.Equal(0, TunOffload.SegmentCount(vnet, packet.AsSpan(0, 30), out _));
    }

    [RootFact]
    public void A_tcp_stream_out_of_the_tun_reassembles_byte_exact_with_offload_on() => TcpStreamOutOfTheTun(offload: true);

    [RootFact]
    public void A_tcp_stream_out_of_the_tun_reassembles_byte_exact_with_offload_off() => TcpStreamOutOfTheTun(offload: false);

    private static void TcpStreamOutOfTheTun(bool offload)
    {
        // A real TCP sender writes 4 MiB towards a peer behind the TUN; this test plays the receiver from the TUN
        // side only far enough to check what the kernel hands us: segments within the MTU, valid checksums, and
        // the payload in sequence equal to what was sent.
        using var ns = Netns.Create("tso");
        using Tun tun = ns.Run(() => Tun.Create("rtso0", offload: offload));
        Assert.Equal(offload, tun.Offloads != 0);
        tun.Rtnetlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.77.8.1"), 24);
        tun.SetUp(true);
        byte[] data = RandomNumberGenerator.GetBytes(4 << 20);
        var received = new MemoryStream();
        using Socket client = ns.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        var connect = client.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.77.8.2"), 7000));
        var buffers = Enumerable.Range(0, 64).Select(_ => new PacketBuffer(2048)).ToArray();
        uint expected = 0;
        bool established = false;
        Task? send = null;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (received.Length < data.Length && watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            int n = tun.Read(buffers);
            for (int i = 0; i < n; i++)
            {
                byte[] p = buffers[i].Payload.ToArray();
                if (p.Length < 40 || p[0] != 0x45 || p[9] != 6)
                    continue;
                Assert.True(p.Length <= tun.Mtu);
                Assert.True(ChecksumValid(p.AsSpan(0, 20), 0), "IPv4 header checksum");
                uint pseudo = TunOffload.Sum(p.AsSpan(12, 8), 6u + (uint)(p.Length - 20));
                Assert.True(ChecksumValid(p.AsSpan(20), pseudo), "TCP checksum");
                Span<byte> tcp = p.AsSpan(20);
                uint seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
                int tcpLength = (tcp[12] >> 4) * 4;
                if ((tcp[13] & 0x02) != 0) // SYN: answer SYN-ACK (no options, window 65535, scaled by nothing)
                {
                    expected = seq + 1;
                    WriteTcp(tun, p, seq: 777, ack: expected, flags: 0x12);
                    established = true;
                    continue;
                }
                int payload = tcp.Length - tcpLength;
                if (payload > 0 && seq == expected)
                {
                    received.Write(tcp[tcpLength..]);
                    expected += (uint)payload;
                }
                if (payload > 0)
                    WriteTcp(tun, p, seq: 778, ack: expected, flags: 0x10);
            }
            if (established && send is null && connect.IsCompleted)
                send = client.SendAsync(data);
        }
        Assert.Equal(data.Length, received.Length);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        if (offload)
            Assert.True(tun.SuperPackets > 0, "the kernel handed over TSO super-packets");
        else
            Assert.Equal(0, tun.SuperPackets);
    }

    /// <summary>Writes a bare TCP segment (no payload) from the far end back into the TUN.</summary>
    private static void WriteTcp(Tun tun, byte[] from, uint seq, uint ack, byte flags)
    {
        var buffer = new PacketBuffer(2048) { Length = 40 };
        Span<byte> p = buffer.Payload;
        p.Clear();
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], 40);
        p[8] = 64;
        p[9] = 6;
        from.AsSpan(16, 4).CopyTo(p[12..]);
        from.AsSpan(12, 4).CopyTo(p[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(p[10..], (ushort)~TunOffload.Fold(TunOffload.Sum(p[..20], 0)));
        Span<byte> tcp = p[20..];
        from.AsSpan(22, 2).CopyTo(tcp);
        from.AsSpan(20, 2).CopyTo(tcp[2..]);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
        uint pseudo = TunOffload.Sum(p.Slice(12, 8), 6u + 20u);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], (ushort)~TunOffload.Fold(TunOffload.Sum(tcp, pseudo)));
        tun.Write([buffer]);
    }
}
