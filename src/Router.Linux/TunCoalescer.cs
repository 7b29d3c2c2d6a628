using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using Router.Tunnel.IO;

namespace Router.Linux;

/// <summary>
/// Receive-side coalescing (GRO) for TUN writes: the decrypted packets of one batch that continue one TCP flow (or,
/// with USO, one UDP flow) are planned as a single super-packet behind a virtio-net header, so the kernel's stack
/// takes one 64 KiB skb instead of ~45 small ones. Nothing is copied: a super-packet is the first packet (its
/// headers rewritten in place) plus the payloads of the others, written with one writev(2).
/// </summary>
/// <remarks>
/// The merge rules are the kernel's GRO rules (net/ipv4/tcp_offload.c tcp_gro_receive, udp_offload.c
/// udp_gro_receive_segment, af_inet.c inet_gro_receive, ip6_offload.c): same addresses, ports and IP version; IPv4
/// without options or fragmentation, same TOS, TTL and DF, IDs incrementing (or fixed under DF); IPv6 without extension
/// headers, same traffic class, flow label and hop limit; TCP without SYN/FIN/RST/URG/CWR, the next sequence number,
/// same ACK, window and option bytes, every segment the size of the first but the last, which may be shorter and
/// ends the super-packet, as PSH does. Each packet's own checksum must verify before it is merged: the super-packet
/// goes out as CHECKSUM_PARTIAL (the kernel then trusts it), so a bad segment must not be hidden inside it.
/// Packets that do not merge keep their place and go out as they came, behind a zero header. Packets of one flow keep
/// their order; flows may pass one another. Not thread-safe: the TUN writer uses it under its write lock.
/// </remarks>
internal sealed class TunCoalescer
{
    private const int MaxLength = 65535;   // an IPv4 total length, and the most a TUN write carries
    private const int MaxUdpSegments = 64; // the kernel refuses UDP_L4 GSO of more than UDP_MAX_SEGMENTS (128)
    private const int MaxTcpSegments = 64;

    private enum Kind : byte { Plain, Tcp4, Tcp6, Udp4, Udp6 }

    private enum IdMode : byte { Unknown, Incrementing, Fixed }

    /// <summary>One write: a plain packet or a super-packet under construction (its first packet and a chain).</summary>
    [StructLayout(LayoutKind.Auto)]
    private struct Item
    {
        public int Head, Last, Count;
        public Kind Kind;
        public bool Closed, Psh;
        public IdMode IdMode;
        public int IpLength, HeaderLength, GsoSize, PayloadLength;
        public uint NextSequence, Hash;
    }

    private readonly Item[] _items;
    private readonly int[] _next;      // per packet: the next packet of its super-packet, or -1
    private readonly int[] _table;     // open addressing over flow hashes: item index + 1, 0 = empty
    private readonly bool _udp;
    private int _itemCount;

    /// <param name="capacity">The most packets one <see cref="Plan"/> takes.</param>
    /// <param name="udp">Merge UDP too (the kernel accepted TUN_F_USO4/6, so it knows GSO_UDP_L4).</param>
    public TunCoalescer(int capacity, bool udp)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _udp = udp;
        _items = new Item[capacity];
        _next = new int[capacity];
        _table = new int[(int)BitOperations.RoundUpToPowerOf2((uint)capacity * 2)];
    }

    public int Capacity { get; }

    /// <summary>Packets merged into a super-packet behind another (not counting the first of each).</summary>
    public long Merged { get; private set; }

    /// <summary>Super-packets planned.</summary>
    public long SuperPackets { get; private set; }

    /// <summary>How many writes the last <see cref="Plan"/> produced.</summary>
    public int WriteCount => _itemCount;

    /// <summary>Index (in the planned batch) of the packet that opens write <paramref name="write"/>.</summary>
    public int Head(int write) => _items[write].Head;

    /// <summary>The packet after <paramref name="packet"/> in its super-packet, or -1.</summary>
    public int Next(int packet) => _next[packet];

    /// <summary>Bytes of IP + transport header at the front of each packet of write <paramref name="write"/>: the
    /// packets after the first contribute only what follows them.</summary>
    public int HeaderLength(int write) => _items[write].HeaderLength;

    /// <summary>
    /// Plans <paramref name="packets"/> (at most <see cref="Capacity"/>) into writes, in order. Every packet gets a
    /// virtio-net header in the <see cref="TunOffload.VnetHeaderSize"/> bytes before its offset (the caller checked
    /// they exist); the first packet of a super-packet also gets its IP and transport headers rewritten.
    /// </summary>
    public void Plan(ReadOnlySpan<PacketBuffer> packets)
    {
        if (packets.Length > Capacity)
            throw new ArgumentException("More packets than the coalescer's capacity.", nameof(packets));
        _itemCount = 0;
        _table.AsSpan().Clear();
        for (int i = 0; i < packets.Length; i++)
            Add(packets, i);
        for (int w = 0; w < _itemCount; w++)
            Finish(packets, ref _items[w]);
    }

    private void Add(ReadOnlySpan<PacketBuffer> packets, int index)
    {
        _next[index] = -1;
        ReadOnlySpan<byte> p = packets[index].Payload;
        Kind kind = Classify(p, out int ipLength, out int headerLength, out bool mergeable);
        if (kind == Kind.Plain || packets[index].Offset < TunOffload.VnetHeaderSize)
        {
            // A packet of a flow that cannot merge (IPv6 extension headers, IPv4 options or a fragment, a length
            // that does not add up) must not be overtaken by that flow's later packets joining an earlier write.
            CloseFlowsBetween(packets, p);
            NewItem(index, Kind.Plain, 0, 0, 0);
            return;
        }
        uint hash = FlowHash(p, kind, ipLength);
        int mask = _table.Length - 1;
        int slot = (int)hash & mask;
        while (_table[slot] != 0)
        {
            ref Item open = ref _items[_table[slot] - 1];
            if (open.Hash == hash && open.Kind == kind && SameFlow(packets[open.Head].Payload, p, kind, ipLength))
            {
                if (mergeable && !open.Closed && TryAppend(packets, ref open, index, p))
                    return;
                open.Closed = true; // whatever follows in this flow must not jump ahead of this packet
                break;
            }
            slot = (slot + 1) & mask;
        }
        int payload = p.Length - headerLength;
        if (!mergeable || payload == 0)
        {
            NewItem(index, Kind.Plain, 0, 0, 0);
            return;
        }
        _table[slot] = NewItem(index, kind, ipLength, headerLength, payload) + 1;
        ref Item item = ref _items[_itemCount - 1];
        item.Hash = hash;
        if (kind is Kind.Tcp4 or Kind.Tcp6)
        {
            ReadOnlySpan<byte> tcp = p[ipLength..];
            item.NextSequence = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]) + (uint)payload;
            item.Closed = (tcp[13] & TcpPsh) != 0;
        }
    }

    /// <summary>
    /// Ends every open super-packet between the addresses of <paramref name="p"/>. Its ports are not trusted (they may
    /// not be where an unmergeable packet keeps them), so every flow between the two hosts is ended: rare packets, a
    /// little less merging, never a reordering.
    /// </summary>
    private void CloseFlowsBetween(ReadOnlySpan<PacketBuffer> packets, ReadOnlySpan<byte> p)
    {
        bool v4 = p.Length >= 20 && p[0] >> 4 == 4;
        if (!v4 && !(p.Length >= 40 && p[0] >> 4 == 6))
            return;
        ReadOnlySpan<byte> addresses = v4 ? p.Slice(12, 8) : p.Slice(8, 32);
        for (int w = 0; w < _itemCount; w++)
        {
            ref Item item = ref _items[w];
            if (item.Closed || item.Kind == Kind.Plain || (item.Kind is Kind.Tcp4 or Kind.Udp4) != v4)
                continue;
            ReadOnlySpan<byte> head = packets[item.Head].Payload;
            if ((v4 ? head.Slice(12, 8) : head.Slice(8, 32)).SequenceEqual(addresses))
                item.Closed = true;
        }
    }

    private int NewItem(int head, Kind kind, int ipLength, int headerLength, int payload)
    {
        int index = _itemCount++;
        _items[index] = new Item
        {
            Head = head, Last = head, Count = 1, Kind = kind, IpLength = ipLength, HeaderLength = headerLength,
            GsoSize = payload, PayloadLength = payload,
        };
        return index;
    }

    private const byte TcpFin = 0x01, TcpSyn = 0x02, TcpRst = 0x04, TcpPsh = 0x08, TcpUrg = 0x20, TcpCwr = 0x80;

    /// <summary>
    /// Which flow kind <paramref name="p"/> is (Plain when it has no usable 5-tuple: not TCP/UDP, IPv4 options or a
    /// fragment, IPv6 extension headers, truncated), and whether it may be merged at all (flags, checksum).
    /// </summary>
    private Kind Classify(ReadOnlySpan<byte> p, out int ipLength, out int headerLength, out bool mergeable)
    {
        ipLength = headerLength = 0;
        mergeable = false;
        if (p.Length < 20)
            return Kind.Plain;
        int version = p[0] >> 4;
        int protocol;
        uint pseudo;
        if (version == 4)
        {
            // No options (IHL 5), the whole packet present, not a fragment (MF clear, offset 0): DF alone may be set.
            if (p[0] != 0x45 || BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != p.Length || (BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0xbfff) != 0)
                return Kind.Plain;
            ipLength = 20;
            protocol = p[9];
            pseudo = TunOffload.Sum(p.Slice(12, 8), (uint)protocol + (uint)(p.Length - 20));
        }
        else if (version == 6)
        {
            if (p.Length < 40 || BinaryPrimitives.ReadUInt16BigEndian(p[4..]) != p.Length - 40)
                return Kind.Plain;
            ipLength = 40;
            protocol = p[6];
            pseudo = TunOffload.Sum(p.Slice(8, 32), (uint)protocol + (uint)(p.Length - 40));
        }
        else
        {
            return Kind.Plain;
        }

        ReadOnlySpan<byte> l4 = p[ipLength..];
        Kind kind;
        if (protocol == 6)
        {
            if (l4.Length < 20)
                return Kind.Plain;
            int tcpLength = (l4[12] >> 4) * 4;
            if (tcpLength < 20 || l4.Length < tcpLength)
                return Kind.Plain;
            headerLength = ipLength + tcpLength;
            kind = version == 4 ? Kind.Tcp4 : Kind.Tcp6;
            mergeable = (l4[13] & (TcpFin | TcpSyn | TcpRst | TcpUrg | TcpCwr)) == 0;
        }
        else if (protocol == 17 && _udp)
        {
            if (l4.Length < 8 || BinaryPrimitives.ReadUInt16BigEndian(l4[4..]) != l4.Length)
                return Kind.Plain;
            headerLength = ipLength + 8;
            kind = version == 4 ? Kind.Udp4 : Kind.Udp6;
            mergeable = BinaryPrimitives.ReadUInt16BigEndian(l4[6..]) != 0; // IPv4 "no checksum": leave it alone
        }
        else
        {
            return Kind.Plain;
        }
        // Verified last, and only for candidates: a packet with a bad checksum goes as it came and the kernel drops it.
        mergeable = mergeable && TunOffload.Fold(TunOffload.Sum(l4, pseudo)) == 0xffff;
        return kind;
    }

    private static uint FlowHash(ReadOnlySpan<byte> p, Kind kind, int ipLength)
    {
        // Addresses and ports; the seeded HashCode keeps remote senders from choosing collisions.
        ReadOnlySpan<byte> addresses = kind is Kind.Tcp4 or Kind.Udp4 ? p.Slice(12, 8) : p.Slice(8, 32);
        var hash = new HashCode();
        hash.AddBytes(addresses);
        hash.Add(BinaryPrimitives.ReadUInt32LittleEndian(p[ipLength..]));
        return (uint)hash.ToHashCode();
    }

    private static bool SameFlow(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Kind kind, int ipLength)
    {
        bool v4 = kind is Kind.Tcp4 or Kind.Udp4;
        return (v4 ? a.Slice(12, 8).SequenceEqual(b.Slice(12, 8)) : a.Slice(8, 32).SequenceEqual(b.Slice(8, 32)))
            && a.Slice(ipLength, 4).SequenceEqual(b.Slice(ipLength, 4));
    }

    /// <summary>Appends packet <paramref name="index"/> to <paramref name="item"/> when the GRO rules allow it.</summary>
    private bool TryAppend(ReadOnlySpan<PacketBuffer> packets, ref Item item, int index, ReadOnlySpan<byte> p)
    {
        ReadOnlySpan<byte> head = packets[item.Head].Payload;
        int payload = p.Length - item.HeaderLength;
        bool tcp = item.Kind is Kind.Tcp4 or Kind.Tcp6;
        if (payload <= 0 || payload > item.GsoSize || item.HeaderLength + item.PayloadLength + payload > MaxLength
            || item.Count >= (tcp ? MaxTcpSegments : MaxUdpSegments))
            return false;

        IdMode idMode = item.IdMode;
        if (item.Kind is Kind.Tcp4 or Kind.Udp4)
        {
            // TOS, fragment field (DF) and TTL as the first; the ID one more per packet, or fixed when DF is set.
            if (p[1] != head[1] || p[6] != head[6] || p[7] != head[7] || p[8] != head[8])
                return false;
            ushort first = BinaryPrimitives.ReadUInt16BigEndian(head[4..]), id = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
            bool incrementing = id == (ushort)(first + item.Count), fixedId = id == first && (head[6] & 0x40) != 0;
            idMode = idMode switch
            {
                IdMode.Unknown => incrementing ? IdMode.Incrementing : fixedId ? IdMode.Fixed : IdMode.Unknown,
                IdMode.Incrementing => incrementing ? idMode : IdMode.Unknown,
                _ => fixedId ? idMode : IdMode.Unknown,
            };
            if (idMode == IdMode.Unknown)
                return false;
        }
        else if (!p[..4].SequenceEqual(head[..4]) || p[7] != head[7])
        {
            return false; // traffic class, flow label, hop limit
        }

        bool last = payload < item.GsoSize;
        if (tcp)
        {
            ReadOnlySpan<byte> t = p[item.IpLength..], h = head[item.IpLength..];
            int tcpLength = item.HeaderLength - item.IpLength;
            if ((t[12] >> 4) * 4 != tcpLength
                || BinaryPrimitives.ReadUInt32BigEndian(t[4..]) != item.NextSequence
                || (t[13] & ~TcpPsh) != (h[13] & ~TcpPsh)
                || !t.Slice(8, 4).SequenceEqual(h.Slice(8, 4))      // ACK
                || !t.Slice(14, 2).SequenceEqual(h.Slice(14, 2))    // window
                || !t[20..tcpLength].SequenceEqual(h[20..tcpLength])) // options, timestamps included
                return false;
            item.NextSequence += (uint)payload;
            if ((t[13] & TcpPsh) != 0)
            {
                item.Psh = true;
                last = true;
            }
        }

        item.IdMode = idMode;
        item.PayloadLength += payload;
        item.Count++;
        _next[item.Last] = index;
        item.Last = index;
        item.Closed = last;
        Merged++;
        return true;
    }

    /// <summary>Writes the vnet header and, for a super-packet, the headers that describe all of it.</summary>
    private void Finish(ReadOnlySpan<PacketBuffer> packets, ref Item item)
    {
        PacketBuffer head = packets[item.Head];
        if (head.Offset < TunOffload.VnetHeaderSize)
            return; // the caller drops it
        Span<byte> vnet = head.Data.AsSpan(head.Offset - TunOffload.VnetHeaderSize, TunOffload.VnetHeaderSize);
        if (item.Count == 1)
        {
            // A plain packet: its checksums are complete and stay as they came.
            vnet.Clear();
            item.HeaderLength = 0;
            return;
        }
        SuperPackets++;
        Span<byte> p = head.Payload;
        int total = item.HeaderLength + item.PayloadLength;
        int l4Length = total - item.IpLength;
        bool tcp = item.Kind is Kind.Tcp4 or Kind.Tcp6;
        byte protocol = tcp ? (byte)6 : (byte)17;
        uint pseudo;
        if (item.Kind is Kind.Tcp4 or Kind.Udp4)
        {
            BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)total);
            p[10] = p[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(p[10..], (ushort)~TunOffload.Fold(TunOffload.Sum(p[..20], 0)));
            pseudo = TunOffload.Sum(p.Slice(12, 8), protocol + (uint)l4Length);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(p[4..], (ushort)l4Length);
            pseudo = TunOffload.Sum(p.Slice(8, 32), protocol + (uint)l4Length);
        }
        Span<byte> l4 = p[item.IpLength..];
        int checksumOffset;
        byte gsoType;
        if (tcp)
        {
            if (item.Psh)
                l4[13] |= TcpPsh; // as the kernel's GRO carries the last segment's PSH
            checksumOffset = 16;
            gsoType = item.Kind == Kind.Tcp4 ? TunOffload.GsoTcpV4 : TunOffload.GsoTcpV6;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)l4Length);
            checksumOffset = 6;
            gsoType = TunOffload.GsoUdpL4;
        }
        // CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, uncomplemented; the kernel adds the rest.
        BinaryPrimitives.WriteUInt16BigEndian(l4[checksumOffset..], TunOffload.Fold(pseudo));
        new TunOffload.VnetHeader(TunOffload.NeedsCsum, gsoType, (ushort)item.GsoSize, (ushort)item.IpLength, (ushort)checksumOffset)
            .Write(vnet, (ushort)item.HeaderLength);
    }
}
