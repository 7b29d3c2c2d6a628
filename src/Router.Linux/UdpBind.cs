using System.Buffers.Binary;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Router.Linux.Interop;
using Router.Tunnel.IO;
using static Router.Linux.Interop.Socket;

namespace Router.Linux;

/// <summary>
/// The outer UDP side: one IPv4 and one IPv6-only socket on the same port, moved in batches with recvmmsg/sendmmsg,
/// each with a twin that takes every datagram that is not a transport message (UdpBind.Steering.cs).
/// Each received datagram carries the local address it arrived on (IP_PKTINFO / IPV6_RECVPKTINFO) in its endpoint,
/// and replies are sent from that address ("sticky" source, as the kernel implementation does). When the pinned
/// source is gone (EINVAL / EADDRNOTAVAIL), the datagram is sent again without it, the buffer's endpoint is
/// rewritten without the source, and <see cref="SourceFallbacks"/> counts it: sticky, but not too sticky.
/// </summary>
/// <remarks>
/// One thread receives, any number send (each send builds its message vectors on its own stack). The sockets belong
/// to the network namespace of the thread that opened them. A new listen port means a new UdpBind.
/// Where the kernel offers them, sends use UDP GSO and receives UDP GRO (<see cref="UdpOffload"/>; sending is in
/// UdpBind.Send.cs, GRO splitting in <see cref="UdpGroReader"/>).
/// </remarks>
public sealed unsafe partial class UdpBind : IBind
{
    public const int DefaultBatchSize = 128;

    /// <summary>Socket buffer size the reference implementation asks for (forced past rmem_max when permitted).</summary>
    public const int SocketBufferSize = 7 << 20;

    private static readonly int SockAddrSize = sizeof(SockAddrIn6);

    private readonly SafeFd? _v4;
    private readonly SafeFd? _v6;
    private readonly SafeFd _wake;
    private readonly ReceiveVectors? _receive4;
    private readonly ReceiveVectors? _receive6;
    // Per socket: GRO receive staging when the kernel coalesces for us (null: plain recvmmsg into the caller's buffers).
    private readonly UdpGroReader? _gro4;
    private readonly UdpGroReader? _gro6;
    // Per socket: GSO on send; cleared for good when the kernel answers a segmented send with EIO.
    private volatile bool _gso4;
    private volatile bool _gso6;
    private volatile bool _closed;
    private uint _mark;
    private long _receiveErrors;
    private long _truncated;
    private long _sendErrors;
    private long _sourceFallbacks;
    private volatile int _lastSendErrno;
    // Receiving thread only: sockets that had data at the last poll (bit 0 IPv4, bit 1 IPv6), tried before polling.
    private int _lastReadable;

    public ushort Port { get; }

    public int BatchSize { get; }

    /// <summary>True when an IPv4 socket is open.</summary>
    public bool HasIPv4 => _v4 is not null;

    /// <summary>True when an IPv6 socket is open.</summary>
    public bool HasIPv6 => _v6 is not null;

    /// <summary>The fwmark (SO_MARK) now set on the sockets; 0 = none.</summary>
    public uint Mark => Volatile.Read(ref _mark);

    public long ReceiveErrors => Interlocked.Read(ref _receiveErrors);
    /// <summary>Datagrams larger than a buffer, dropped.</summary>
    public long Truncated => Interlocked.Read(ref _truncated);
    public long SendErrors => Interlocked.Read(ref _sendErrors);
    /// <summary>Sends that fell back from a vanished sticky source address to the kernel's choice.</summary>
    public long SourceFallbacks => Interlocked.Read(ref _sourceFallbacks);
    /// <summary>
    /// Datagrams the kernel dropped at the two sockets before routerd read them (SO_MEMINFO's sk_drops: receive
    /// buffer full, bad checksum), since they opened; after Dispose, the last value read.
    /// </summary>
    public long KernelReceiveDrops
    {
        get
        {
            // The kernel's counts only grow; a read that raced with Dispose (0) must not lower the kept value.
            long now = _closed ? 0 : SocketDrops(_v4) + SocketDrops(_v6) + SocketDrops(_handshake4) + SocketDrops(_handshake6);
            long kept = Volatile.Read(ref _lastKernelDrops);
            while (now > kept && Interlocked.CompareExchange(ref _lastKernelDrops, now, kept) is long seen && seen != kept)
                kept = seen;
            return Math.Max(now, Volatile.Read(ref _lastKernelDrops));
        }
    }

    public long ReceiveDrops => KernelReceiveDrops + Truncated;

    public long SendDrops => SendErrors;

    private long _lastKernelDrops;

    private static long SocketDrops(SafeFd? socket)
    {
        if (socket is null)
            return 0;
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            uint* info = stackalloc uint[SK_MEMINFO_VARS];
            uint length = SK_MEMINFO_VARS * sizeof(uint);
            return GetOption(socket.Fd, SOL_SOCKET, SO_MEMINFO, info, &length) == 0 && length > SK_MEMINFO_DROPS * sizeof(uint)
                ? info[SK_MEMINFO_DROPS] : 0;
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
                socket.DangerousRelease();
        }
    }

    /// <summary>The errno of the most recent failed send (for logs); 0 when none failed.</summary>
    public int LastSendErrno => _lastSendErrno;

    /// <summary>UDP GSO is in use on the IPv4 / IPv6 socket (false when unsupported, off, or disabled after EIO).</summary>
    public bool GsoIPv4 => _gso4;
    public bool GsoIPv6 => _gso6;

    /// <summary>UDP GRO is on for the IPv4 / IPv6 socket.</summary>
    public bool GroIPv4 => _gro4 is not null;
    public bool GroIPv6 => _gro6 is not null;

    /// <summary>Datagrams that arrived coalesced by GRO and were split (both sockets).</summary>
    public long CoalescedReceives => (_gro4?.CoalescedDatagrams ?? 0) + (_gro6?.CoalescedDatagrams ?? 0);

    private UdpBind(SafeFd? v4, SafeFd? v6, SafeFd? handshake4, SafeFd? handshake6, SafeFd wake, ushort port, int batchSize, bool offload)
    {
        _v4 = v4;
        _v6 = v6;
        _handshake4 = handshake4;
        _handshake6 = handshake6;
        if (handshake4 is not null)
            _receiveHandshake4 = new ReceiveVectors(HandshakesPerRead);
        if (handshake6 is not null)
            _receiveHandshake6 = new ReceiveVectors(HandshakesPerRead);
        _wake = wake;
        Port = port;
        BatchSize = batchSize;
        if (v4 is not null)
        {
            _gso4 = offload && UdpOffload.ProbeGso(v4.Fd);
            if (offload && UdpOffload.EnableGro(v4.Fd))
                _gro4 = new UdpGroReader(GroSlots(batchSize));
            else
                _receive4 = new ReceiveVectors(batchSize);
        }
        if (v6 is not null)
        {
            _gso6 = offload && UdpOffload.ProbeGso(v6.Fd);
            if (offload && UdpOffload.EnableGro(v6.Fd))
                _gro6 = new UdpGroReader(GroSlots(batchSize));
            else
                _receive6 = new ReceiveVectors(batchSize);
        }
    }

    /// <summary>
    /// Datagrams one GRO read takes. Each needs a 64 KiB slot that stays resident once written, so fewer than the
    /// batch: 32 coalesced datagrams still fill a batch of 128 many times over (wireguard-go reads 2), and 32 plain
    /// ones per call keep the system call amortized. Bounds the staging at 2 MiB per socket.
    /// </summary>
    private static int GroSlots(int batchSize) => Math.Clamp(batchSize / 4, 1, 32);

    /// <summary>
    /// Opens both sockets on <paramref name="port"/> (0: the kernel picks one for IPv4 and IPv6 reuses it).
    /// Throws <see cref="Win32Exception"/> (EADDRINUSE) when the port is taken.
    /// </summary>
    /// <param name="offload">UDP GSO and GRO where the kernel has them; defaults to on unless ROUTERD_UDP_OFFLOAD=0.</param>
    public static UdpBind Open(ushort port, int batchSize = DefaultBatchSize, bool? offload = null)
    {
        bool wantOffload = offload ?? UdpOffload.WantedByDefault;
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchSize, 1024); // UIO_MAXIOV bounds one mmsg call
        // With port 0 the IPv4 choice can be taken for IPv6 already; try again with another (as wireguard-go does).
        for (int attempt = 0; ; attempt++)
        {
            SafeFd? v4 = null, v6 = null, h4 = null, h6 = null;
            try
            {
                // Plain binds first: they say whether the port is taken (with SO_REUSEPORT another root process's
                // socket could share it silently), and pick one for port 0 that nobody shares.
                ushort actual = port;
                OpenSocket(AF_INET, ref actual, reusePort: false, 0)?.Dispose();
                OpenSocket(AF_INET6, ref actual, reusePort: false, 0)?.Dispose();
                v4 = OpenSocket(AF_INET, ref actual, reusePort: true, SocketBufferSize);
                v6 = OpenSocket(AF_INET6, ref actual, reusePort: true, SocketBufferSize);
                if (v4 is null && v6 is null)
                    throw OsError.Of(Errno.EADDRNOTAVAIL, "neither IPv4 nor IPv6 is available");
                h4 = v4 is null ? null : OpenHandshakeSocket(AF_INET, actual, v4);
                h6 = v6 is null ? null : OpenHandshakeSocket(AF_INET6, actual, v6);
                int wake = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
                if (wake < 0)
                    throw OsError.Of(Marshal.GetLastPInvokeError(), "eventfd");
                return new UdpBind(v4, v6, h4, h6, new SafeFd(wake), actual, batchSize, wantOffload);
            }
            catch (Win32Exception e) when (port == 0 && e.NativeErrorCode == Errno.EADDRINUSE && attempt < 100)
            {
                v4?.Dispose();
                v6?.Dispose();
                h4?.Dispose();
                h6?.Dispose();
            }
            catch
            {
                v4?.Dispose();
                v6?.Dispose();
                h4?.Dispose();
                h6?.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Opens and binds one socket (buffers of <paramref name="bufferSize"/> bytes, 0: the system's); null when the
    /// family is not supported on this host.
    /// </summary>
    private static SafeFd? OpenSocket(int family, ref ushort port, bool reusePort, int bufferSize)
    {
        int fd = Create(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == 97 /* EAFNOSUPPORT */)
                return null;
            throw OsError.Of(errno, "socket(UDP)");
        }
        var handle = new SafeFd(fd);
        try
        {
            if (bufferSize > 0)
            {
                SetBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bufferSize);
                SetBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bufferSize);
            }
            if (reusePort)
                Check(SetInt(fd, SOL_SOCKET, SO_REUSEPORT, 1), "SO_REUSEPORT");
            int rc;
            if (family == AF_INET)
            {
                Check(SetInt(fd, IPPROTO_IP, IP_PKTINFO, 1), "IP_PKTINFO");
                var address = new SockAddrIn { Family = AF_INET, Port = BinaryPrimitives.ReverseEndianness(port) };
                rc = Bind(fd, &address, (uint)sizeof(SockAddrIn));
            }
            else
            {
                Check(SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1), "IPV6_V6ONLY");
                Check(SetInt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1), "IPV6_RECVPKTINFO");
                var address = new SockAddrIn6 { Family = AF_INET6, Port = BinaryPrimitives.ReverseEndianness(port) };
                rc = Bind(fd, &address, (uint)sizeof(SockAddrIn6));
            }
            if (rc != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (family == AF_INET6 && errno == Errno.EADDRNOTAVAIL)
                {
                    handle.Dispose(); // IPv6 disabled in this namespace: carry on with IPv4 alone
                    return null;
                }
                throw OsError.Of(errno, $"bind UDP port {port}");
            }
            if (port == 0)
            {
                SockAddrIn6 bound = default;
                uint length = (uint)sizeof(SockAddrIn6);
                Check(GetSockName(fd, &bound, &length), "getsockname");
                port = BinaryPrimitives.ReverseEndianness(bound.Port);
            }
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static void SetBuffer(int fd, int forced, int plain, int size)
    {
        // FORCE needs CAP_NET_ADMIN; without it the plain option is capped at net.core.[rw]mem_max.
        if (SetInt(fd, SOL_SOCKET, forced, size) != 0)
            SetInt(fd, SOL_SOCKET, plain, size);
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0)
            throw OsError.Of(Marshal.GetLastPInvokeError(), what);
    }

    /// <summary>Sets the fwmark on both sockets (0 clears it). Needs CAP_NET_ADMIN.</summary>
    public void SetMark(uint mark)
    {
        foreach (SafeFd? socket in (ReadOnlySpan<SafeFd?>)[_v4, _v6, _handshake4, _handshake6])
            if (socket is not null)
                Check(SetInt(socket.Fd, SOL_SOCKET, SO_MARK, (int)mark), "SO_MARK");
        Volatile.Write(ref _mark, mark);
    }

    /// <summary>The socket buffer sizes the kernel granted (receive, send) on the first open socket; for tests and logs.</summary>
    internal (int Receive, int Send) BufferSizes()
    {
        int fd = (_v4 ?? _v6)!.Fd;
        GetInt(fd, SOL_SOCKET, SO_RCVBUF, out int receive);
        GetInt(fd, SOL_SOCKET, SO_SNDBUF, out int send);
        return (receive, send);
    }

    /// <summary>Reads SO_MARK back from the kernel (IPv4 socket, or IPv6 when alone).</summary>
    internal uint ReadMarkFromKernel()
    {
        GetInt((_v4 ?? _v6)!.Fd, SOL_SOCKET, SO_MARK, out int mark);
        return (uint)mark;
    }

    public int Receive(Span<PacketBuffer> packets)
    {
        if (packets.IsEmpty || _closed)
            return 0;
        bool r4 = false, r6 = false, rw = false, h4 = false, h6 = false;
        try
        {
            _v4?.DangerousAddRef(ref r4);
            _v6?.DangerousAddRef(ref r6);
            _handshake4?.DangerousAddRef(ref h4);
            _handshake6?.DangerousAddRef(ref h6);
            _wake.DangerousAddRef(ref rw);
            return ReceiveCore(packets);
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (rw)
                _wake.DangerousRelease();
            if (h6)
                _handshake6!.DangerousRelease();
            if (h4)
                _handshake4!.DangerousRelease();
            if (r6)
                _v6!.DangerousRelease();
            if (r4)
                _v4!.DangerousRelease();
        }
    }

    private int ReceiveCore(Span<PacketBuffer> packets)
    {
        // Segments of a coalesced datagram left over from the last call go first, without a system call.
        int pending = 0;
        if (_gro4 is { HasPending: true })
            pending += _gro4.Split(packets, ref _truncated);
        if (_gro6 is { HasPending: true } && pending < packets.Length)
            pending += _gro6.Split(packets[pending..], ref _truncated);
        if (pending > 0)
            return pending;

        Libc.PollFd* fds = stackalloc Libc.PollFd[5];
        int v4 = _v4?.Fd ?? -1, v6 = _v6?.Fd ?? -1;
        while (true)
        {
            // Under load datagrams are already queued: try the sockets that were readable last time before polling.
            int ready = _lastReadable;
            if ((ready & 12) != 0)
                ready |= (_v4 is null ? 0 : 1) | (_v6 is null ? 0 : 2); // a handshake flood never ends this loop: look at the data too
            if (ready != 0)
            {
                int early = ReceiveReady(ready, v4, v6, packets);
                if (early > 0)
                    return early;
                _lastReadable = 0;
            }
            // poll ignores negative descriptors, so a missing family (or handshake socket) costs nothing.
            fds[0] = new Libc.PollFd { Fd = v4, Events = Libc.POLLIN };
            fds[1] = new Libc.PollFd { Fd = v6, Events = Libc.POLLIN };
            fds[2] = new Libc.PollFd { Fd = _handshake4?.Fd ?? -1, Events = Libc.POLLIN };
            fds[3] = new Libc.PollFd { Fd = _handshake6?.Fd ?? -1, Events = Libc.POLLIN };
            fds[4] = new Libc.PollFd { Fd = _wake.Fd, Events = Libc.POLLIN };
            if (Libc.Poll(fds, 5, -1) < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.EINTR)
                    continue;
                Interlocked.Increment(ref _receiveErrors);
                return 0;
            }
            if (_closed || fds[4].Revents != 0)
                return 0;
            ready = 0;
            for (int i = 0; i < 4; i++)
                ready |= fds[i].Revents != 0 ? 1 << i : 0;
            _lastReadable = ready;
            int count = ReceiveReady(ready, v4, v6, packets);
            if (count > 0)
                return count;
        }
    }

    /// <summary>
    /// Reads the sockets flagged in <paramref name="ready"/> (1, 2: data v4, v6; 4, 8: handshake v4, v6): a few
    /// handshake datagrams first, then the data sockets into the rest of the batch.
    /// </summary>
    private int ReceiveReady(int ready, int v4, int v6, Span<PacketBuffer> packets)
    {
        int count = (ready & 12) != 0 ? ReceiveHandshakes(ready, packets) : 0;
        if ((ready & 1) != 0 && count < packets.Length)
            count += ReceiveBatch(v4, _receive4, _gro4, packets[count..]);
        if ((ready & 2) != 0 && count < packets.Length)
            count += ReceiveBatch(v6, _receive6, _gro6, packets[count..]);
        return count;
    }

    private int ReceiveBatch(int fd, ReceiveVectors? vectors, UdpGroReader? gro, Span<PacketBuffer> packets)
    {
        if (gro is not null)
        {
            // Each datagram yields at least one buffer, so asking for as many as there are buffers never wastes a read.
            int read = gro.Read(fd, Math.Min(packets.Length, BatchSize), ref _truncated);
            if (read < 0)
                Interlocked.Increment(ref _receiveErrors);
            return read > 0 ? gro.Split(packets, ref _truncated) : 0;
        }
        return ReceivePlain(fd, vectors!, packets);
    }

    /// <summary>recvmmsg straight into the caller's buffers (no GRO: every datagram is one packet).</summary>
    private int ReceivePlain(int fd, ReceiveVectors vectors, Span<PacketBuffer> packets)
    {
        int count = Math.Min(packets.Length, BatchSize);
        MMsgHdr* messages = vectors.Messages;
        for (int i = 0; i < count; i++)
        {
            vectors.IoVecs[i] = new IoVec
            {
                // PacketBuffer.Data lives on the pinned object heap, so its address is stable.
                Base = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(packets[i].Data)) + PacketBuffer.Headroom,
                Length = (nuint)packets[i].Capacity,
            };
            messages[i] = new MMsgHdr
            {
                Header = new MsgHdr
                {
                    Name = vectors.Names + i * SockAddrSize,
                    NameLength = (uint)SockAddrSize,
                    Iov = &vectors.IoVecs[i],
                    IovLength = 1,
                    Control = vectors.Controls + i * ControlSize,
                    ControlLength = ControlSize,
                },
            };
        }
        int received;
        do
            received = ReceiveMessages(fd, messages, (uint)count, MSG_DONTWAIT, null);
        while (received < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (received < 0)
        {
            if (Marshal.GetLastPInvokeError() != Errno.EAGAIN)
                Interlocked.Increment(ref _receiveErrors);
            return 0;
        }

        int kept = 0;
        for (int i = 0; i < received; i++)
        {
            ref MMsgHdr message = ref messages[i];
            if ((message.Header.Flags & MSG_TRUNC) != 0)
            {
                Interlocked.Increment(ref _truncated);
                continue;
            }
            PacketBuffer packet = packets[i];
            packet.Offset = PacketBuffer.Headroom;
            packet.Length = (int)message.Length;
            packet.Endpoint = DecodeEndpoint(ref message.Header);
            if (kept != i)
                (packets[kept], packets[i]) = (packets[i], packets[kept]); // keep the returned ones first
            kept++;
        }
        return kept;
    }

    internal static Endpoint DecodeEndpoint(ref MsgHdr header)
    {
        Span<byte> local = stackalloc byte[16];
        int localLength = 0;
        int localInterface = 0;
        byte* control = (byte*)header.Control;
        nuint offset = 0;
        while (offset + CMsgHdr.HeaderSize <= header.ControlLength)
        {
            CMsgHdr* cmsg = (CMsgHdr*)(control + offset);
            if (cmsg->Length < CMsgHdr.HeaderSize)
                break;
            byte* data = (byte*)cmsg + CMsgHdr.HeaderSize;
            if (cmsg->Level == IPPROTO_IP && cmsg->Type == IP_PKTINFO)
            {
                InPktInfo* info = (InPktInfo*)data;
                // spec_dst is the local address a reply should leave from (what the routing decision picked).
                MemoryMarshal.Write(local, info->SpecificDestination);
                localLength = 4;
                localInterface = info->IfIndex;
            }
            else if (cmsg->Level == IPPROTO_IPV6 && cmsg->Type == IPV6_PKTINFO)
            {
                In6PktInfo* info = (In6PktInfo*)data;
                new ReadOnlySpan<byte>(info->Address, 16).CopyTo(local);
                localLength = 16;
                localInterface = info->IfIndex;
            }
            offset += (cmsg->Length + 7) & ~(nuint)7;
        }

        SockAddrIn6* name = (SockAddrIn6*)header.Name;
        ushort port = BinaryPrimitives.ReverseEndianness(name->Port);
        ReadOnlySpan<byte> remote = name->Family == AF_INET
            ? new ReadOnlySpan<byte>(&((SockAddrIn*)name)->Address, 4)
            : new ReadOnlySpan<byte>(name->Address, 16);
        return Endpoint.FromBytes(remote, port, local[..localLength], localInterface);
    }

    public void Dispose()
    {
        if (_closed)
            return;
        _ = KernelReceiveDrops; // the final count, kept for the totals of whoever replaces this bind
        _closed = true;
        bool added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            ulong one = 1;
            Libc.Write(_wake.Fd, (byte*)&one, sizeof(ulong));
        }
        finally
        {
            if (added)
                _wake.DangerousRelease();
        }
        _v4?.Dispose();
        _v6?.Dispose();
        _handshake4?.Dispose();
        _handshake6?.Dispose();
        _wake.Dispose();
    }

    /// <summary>The receiving thread's message vectors, allocated once (pinned, freed by the GC with the bind).</summary>
    private sealed class ReceiveVectors
    {
        private readonly byte[] _memory;

        public ReceiveVectors(int batchSize)
        {
            int size = batchSize * (sizeof(MMsgHdr) + sizeof(IoVec) + SockAddrSize + ControlSize) + 64;
            _memory = GC.AllocateArray<byte>(size, pinned: true);
            byte* p = (byte*)(((nint)Unsafe.AsPointer(ref _memory[0]) + 15) & ~(nint)15);
            Messages = (MMsgHdr*)p;
            p += batchSize * sizeof(MMsgHdr);
            IoVecs = (IoVec*)p;
            p += batchSize * sizeof(IoVec);
            Controls = p; // 8-aligned: cmsghdr needs it
            p += batchSize * ControlSize;
            Names = p;
        }

        public MMsgHdr* Messages { get; }
        public IoVec* IoVecs { get; }
        public byte* Controls { get; }
        public byte* Names { get; }
    }
}
