using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Router.Linux.Interop;
using Router.Tunnel.IO;
using static Router.Linux.Interop.Socket;

namespace Router.Linux;

/// <summary>
/// The receive side of one GRO-enabled UDP socket: recvmmsg into slots of 64 KiB (a coalesced datagram must fit
/// whole, or the kernel truncates it), then each datagram, or each segment of a coalesced one, is copied into a
/// caller's <see cref="PacketBuffer"/> at <see cref="PacketBuffer.Headroom"/> with the source endpoint and local
/// address of the datagram it came from. Segments that do not fit the caller's span wait here for the next call.
/// </summary>
/// <remarks>
/// One thread (the receiver) only. The slots are allocated once, uninitialized: pages the kernel never writes stay
/// out of the resident set, so RSS grows with how much traffic arrives coalesced, to at most slots x 64 KiB.
/// </remarks>
internal sealed unsafe class UdpGroReader
{
    // Room for in6_pktinfo (40) and the UDP_GRO cmsg (24), with spare in case the kernel adds one.
    private const int ControlSize = 96;
    private static readonly int NameSize = sizeof(SockAddrIn6);

    private readonly byte[] _data;
    private readonly byte[] _vectors;
    private readonly MMsgHdr* _messages;
    private readonly IoVec* _iovecs;
    private readonly byte* _controls;
    private readonly byte* _names;
    private readonly byte* _slots;
    private readonly Endpoint[] _sources;
    private readonly int[] _segmentSizes;
    private readonly int[] _lengths;

    // The last read: messages [_next, _received) are not fully handed out; _offset is how far into _next.
    private int _received;
    private int _next;
    private int _offset;

    public UdpGroReader(int slots)
    {
        Slots = slots;
        _data = GC.AllocateUninitializedArray<byte>(slots * UdpOffload.MaxCoalesced + 64, pinned: true);
        _slots = (byte*)(((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_data)) + 63) & ~(nint)63);
        _vectors = GC.AllocateArray<byte>(slots * (sizeof(MMsgHdr) + sizeof(IoVec) + ControlSize + NameSize) + 64, pinned: true);
        byte* p = (byte*)(((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_vectors)) + 15) & ~(nint)15);
        _messages = (MMsgHdr*)p;
        p += slots * sizeof(MMsgHdr);
        _iovecs = (IoVec*)p;
        p += slots * sizeof(IoVec);
        _controls = p; // 8-aligned for cmsghdr
        p += slots * ControlSize;
        _names = p;
        _sources = new Endpoint[slots];
        _segmentSizes = new int[slots];
        _lengths = new int[slots];
    }

    public int Slots { get; }

    /// <summary>Segments of the last read are still waiting for buffers.</summary>
    public bool HasPending => _next < _received;

    /// <summary>Datagrams that arrived coalesced (more than one segment), since the socket opened.</summary>
    public long CoalescedDatagrams { get; private set; }

    /// <summary>
    /// One non-blocking recvmmsg of up to <paramref name="maxMessages"/> datagrams. Returns how many arrived, 0 when
    /// none were queued, or -errno. Call only when nothing is pending.
    /// </summary>
    public int Read(int fd, int maxMessages, ref long truncated)
    {
        int count = Math.Min(maxMessages, Slots);
        for (int i = 0; i < count; i++)
        {
            _iovecs[i] = new IoVec { Base = _slots + (nint)i * UdpOffload.MaxCoalesced, Length = UdpOffload.MaxCoalesced };
            _messages[i] = new MMsgHdr
            {
                Header = new MsgHdr
                {
                    Name = _names + i * NameSize,
                    NameLength = (uint)NameSize,
                    Iov = &_iovecs[i],
                    IovLength = 1,
                    Control = _controls + i * ControlSize,
                    ControlLength = ControlSize,
                },
            };
        }
        int received;
        do
            received = ReceiveMessages(fd, _messages, (uint)count, MSG_DONTWAIT, null);
        while (received < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (received < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno == Errno.EAGAIN ? 0 : -errno;
        }

        int kept = 0;
        for (int i = 0; i < received; i++)
        {
            ref MsgHdr header = ref _messages[i].Header;
            if ((header.Flags & MSG_TRUNC) != 0)
            {
                truncated++;
                continue;
            }
            int length = (int)_messages[i].Length;
            int segment = SegmentSize(ref header);
            if (segment <= 0 || segment >= length)
                segment = length; // a plain datagram
            else
                CoalescedDatagrams++;
            if (kept != i) // keep the slots dense; the data stays where the kernel put it
                _iovecs[kept] = _iovecs[i];
            _sources[kept] = UdpBind.DecodeEndpoint(ref header);
            _segmentSizes[kept] = segment;
            _lengths[kept] = length;
            kept++;
        }
        _received = kept;
        _next = 0;
        _offset = 0;
        return received;
    }

    /// <summary>
    /// Hands out pending segments, one per buffer, in arrival order; returns how many buffers were filled. A segment
    /// larger than its buffer is dropped and counted in <paramref name="truncated"/>.
    /// </summary>
    public int Split(Span<PacketBuffer> packets, ref long truncated)
    {
        int filled = 0;
        while (_next < _received && filled < packets.Length)
        {
            int length = _lengths[_next];
            int size = Math.Min(_segmentSizes[_next], length - _offset);
            byte* source = (byte*)_iovecs[_next].Base + _offset;
            PacketBuffer packet = packets[filled];
            if (size <= packet.Capacity)
            {
                new ReadOnlySpan<byte>(source, size).CopyTo(packet.Data.AsSpan(PacketBuffer.Headroom, size));
                packet.Offset = PacketBuffer.Headroom;
                packet.Length = size;
                packet.Endpoint = _sources[_next];
                filled++;
            }
            else
            {
                truncated++;
            }
            _offset += size;
            if (_offset >= length)
            {
                _next++;
                _offset = 0;
            }
        }
        return filled;
    }

    /// <summary>The gso_size of the UDP_GRO control message; 0 when the datagram was not coalesced.</summary>
    private static int SegmentSize(ref MsgHdr header)
    {
        byte* control = (byte*)header.Control;
        nuint offset = 0;
        while (offset + CMsgHdr.HeaderSize <= header.ControlLength)
        {
            CMsgHdr* cmsg = (CMsgHdr*)(control + offset);
            if (cmsg->Length < CMsgHdr.HeaderSize)
                break;
            if (cmsg->Level == SOL_UDP && cmsg->Type == UDP_GRO && cmsg->Length >= (nuint)CMsgHdr.Len(sizeof(int)))
                return *(int*)((byte*)cmsg + CMsgHdr.HeaderSize);
            offset += (cmsg->Length + 7) & ~(nuint)7;
        }
        return 0;
    }
}
