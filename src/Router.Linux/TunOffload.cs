using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Router.Linux;

/// <summary>
/// TUN offloads (IFF_VNET_HDR + TUNSETOFFLOAD TSO4/TSO6, USO4/USO6): the kernel hands the TUN reader TCP and UDP
/// "super-packets" of up to 64 KiB behind a virtio-net header, and this splits them into MTU-sized segments the way
/// the kernel's tcp_gso_segment / __udp_gso_segment would (sequence numbers, IPv4 IDs, FIN/PSH on the last segment
/// only, CWR on the first only, UDP lengths, lengths and checksums recomputed). Packets that only need their checksum finished (NEEDS_CSUM) get it here too.
/// </summary>
/// <remarks>Reference: include/uapi/linux/virtio_net.h; wireguard-go tun/offload_linux.go (gsoSplit).</remarks>
internal static class TunOffload
{
    /// <summary>struct virtio_net_hdr (no mergeable-buffer count): the TUN's default vnet header size.</summary>
    public const int VnetHeaderSize = 10;

    public const byte NeedsCsum = 1;      // VIRTIO_NET_HDR_F_NEEDS_CSUM
    public const byte GsoNone = 0;        // VIRTIO_NET_HDR_GSO_NONE
    public const byte GsoTcpV4 = 1;       // VIRTIO_NET_HDR_GSO_TCPV4
    public const byte GsoTcpV6 = 4;       // VIRTIO_NET_HDR_GSO_TCPV6
    public const byte GsoUdpL4 = 5;       // VIRTIO_NET_HDR_GSO_UDP_L4 (USO, kernel 6.2+)
    public const byte GsoEcn = 0x80;      // VIRTIO_NET_HDR_GSO_ECN

    public const uint TunFCsum = 0x01, TunFTso4 = 0x02, TunFTso6 = 0x04;
    public const uint TunFUso4 = 0x20, TunFUso6 = 0x40; // TUN_F_USO4/6: kernel 6.2 and later, EINVAL before

    /// <summary>The fields of a virtio-net header (little-endian on the wire: virtio 1.0 / legacy on LE hosts).</summary>
    [StructLayout(LayoutKind.Auto)]
    public readonly struct VnetHeader(byte flags, byte gsoType, ushort gsoSize, ushort csumStart, ushort csumOffset)
    {
        public readonly byte Flags = flags;
        public readonly byte GsoType = gsoType;
        public readonly ushort GsoSize = gsoSize;
        public readonly ushort CsumStart = csumStart;
        public readonly ushort CsumOffset = csumOffset;

        public static VnetHeader Read(ReadOnlySpan<byte> header) => new(
            header[0], header[1],
            BinaryPrimitives.ReadUInt16LittleEndian(header[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(header[6..]),
            BinaryPrimitives.ReadUInt16LittleEndian(header[8..]));

        public void Write(Span<byte> header, ushort headerLength)
        {
            header[0] = Flags;
            header[1] = GsoType;
            BinaryPrimitives.WriteUInt16LittleEndian(header[2..], headerLength);
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], GsoSize);
            BinaryPrimitives.WriteUInt16LittleEndian(header[6..], CsumStart);
            BinaryPrimitives.WriteUInt16LittleEndian(header[8..], CsumOffset);
        }
    }

    /// <summary>
    /// How many segments <paramref name="packet"/> (the IP packet after its vnet header) becomes, and the length of
    /// the IP + TCP/UDP headers each repeats; 0 when it is malformed (then it is dropped).
    /// </summary>
    public static int SegmentCount(in VnetHeader vnet, ReadOnlySpan<byte> packet, out int headerLength)
    {
        headerLength = 0;
        byte gso = (byte)(vnet.GsoType & ~GsoEcn);
        if (gso == GsoNone)
            return packet.IsEmpty ? 0 : 1;
        if (gso is not (GsoTcpV4 or GsoTcpV6 or GsoUdpL4) || vnet.GsoSize == 0)
            return 0;
        int ipLength = vnet.CsumStart;
        // GSO_UDP_L4 serves both families: the IP version says which; the TCP types name theirs.
        bool v4 = gso == GsoUdpL4 ? packet.Length > 0 && (packet[0] >> 4) == 4 : gso == GsoTcpV4;
        if (ipLength < (v4 ? 20 : 40) || packet.Length < ipLength + 8 || (packet[0] >> 4) != (v4 ? 4 : 6))
            return 0;
        // The transport protocol must be the one the GSO type names (IPv6 with extension headers: trust csum_start).
        int protocol = v4 ? packet[9] : ipLength == 40 ? packet[6] : -1;
        if (protocol >= 0 && protocol != (gso == GsoUdpL4 ? 17 : 6))
            return 0;
        int l4Length;
        if (gso == GsoUdpL4)
        {
            l4Length = 8;
        }
        else
        {
            if (packet.Length < ipLength + 20)
                return 0;
            l4Length = (packet[ipLength + 12] >> 4) * 4;
            if (l4Length < 20 || packet.Length < ipLength + l4Length)
                return 0;
        }
        headerLength = ipLength + l4Length;
        int payload = packet.Length - headerLength;
        return payload <= 0 ? 1 : (payload + vnet.GsoSize - 1) / vnet.GsoSize;
    }

    /// <summary>
    /// Writes segment <paramref name="index"/> of <paramref name="packet"/> into <paramref name="destination"/> and
    /// returns its length (see <see cref="SegmentCount"/>). For GSO_NONE it copies the packet and finishes a partial
    /// checksum; returns 0 when the destination is too small.
    /// </summary>
    public static int WriteSegment(in VnetHeader vnet, ReadOnlySpan<byte> packet, int headerLength, int index, int count, Span<byte> destination)
    {
        byte gso = (byte)(vnet.GsoType & ~GsoEcn);
        if (gso == GsoNone)
        {
            if (packet.Length > destination.Length)
                return 0;
            packet.CopyTo(destination);
            if ((vnet.Flags & NeedsCsum) != 0 && vnet.CsumStart + vnet.CsumOffset + 2 <= packet.Length)
            {
                // The field holds the pseudo-header sum already (CHECKSUM_PARTIAL): fold in the rest and complement.
                Span<byte> covered = destination[vnet.CsumStart..packet.Length];
                ushort checksum = (ushort)~Fold(Sum(covered, 0));
                // 0 means "no checksum" to UDP; 0xffff is the same value in ones' complement (the kernel's choice too).
                BinaryPrimitives.WriteUInt16BigEndian(destination[(vnet.CsumStart + vnet.CsumOffset)..], checksum == 0 ? (ushort)0xffff : checksum);
            }
            return packet.Length;
        }

        int ipLength = vnet.CsumStart;
        int mss = vnet.GsoSize;
        int start = headerLength + index * mss;
        int segment = Math.Min(mss, packet.Length - start);
        if (segment < 0)
            segment = 0;
        int length = headerLength + segment;
        if (length > destination.Length)
            return 0;
        Span<byte> output = destination[..length];
        packet[..headerLength].CopyTo(output);
        packet.Slice(start, segment).CopyTo(output[headerLength..]);

        Span<byte> l4 = output[ipLength..];
        int l4Length = length - ipLength;
        bool udp = gso == GsoUdpL4;
        if (udp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)l4Length);
        }
        else
        {
            bool last = index == count - 1;
            uint sequence = BinaryPrimitives.ReadUInt32BigEndian(l4[4..]);
            BinaryPrimitives.WriteUInt32BigEndian(l4[4..], sequence + (uint)(index * mss));
            if (!last)
                l4[13] &= unchecked((byte)~0x09); // FIN and PSH belong to the last segment
            if (index != 0)
                l4[13] &= unchecked((byte)~0x80); // CWR to the first (as tcp_gso_segment)
        }

        uint protocol = udp ? 17u : 6u;
        uint pseudo;
        if ((output[0] >> 4) == 4)
        {
            Span<byte> ip = output[..ipLength];
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)length);
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(id + index));
            ip[10] = ip[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~Fold(Sum(ip, 0)));
            pseudo = Sum(ip.Slice(12, 8), protocol + (uint)l4Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(output[4..], (ushort)(length - 40));
            pseudo = Sum(output.Slice(8, 32), protocol + (uint)l4Length);
        }
        int checksumAt = udp ? 6 : 16;
        l4[checksumAt] = l4[checksumAt + 1] = 0;
        ushort l4Checksum = (ushort)~Fold(Sum(l4[..l4Length], pseudo));
        // 0 means "no checksum" to UDP; 0xffff is the same value in ones' complement.
        BinaryPrimitives.WriteUInt16BigEndian(l4[checksumAt..], udp && l4Checksum == 0 ? (ushort)0xffff : l4Checksum);
        return length;
    }

    /// <summary>Ones' complement sum of big-endian 16-bit words (RFC 1071), carried in 32 bits until folded.</summary>
    public static uint Sum(ReadOnlySpan<byte> data, uint initial)
    {
        ulong sum = initial;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong word = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += (word >> 48) + ((word >> 32) & 0xffff) + ((word >> 16) & 0xffff) + (word & 0xffff);
        }
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        while (sum > 0xffff_ffff)
            sum = (sum & 0xffff_ffff) + (sum >> 32);
        return (uint)sum;
    }

    public static ushort Fold(uint sum)
    {
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)sum;
    }
}
