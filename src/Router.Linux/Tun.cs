using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Router.Linux.Interop;
using Router.Tunnel.IO;

namespace Router.Linux;

/// <summary>
/// A Linux TUN interface (/dev/net/tun, IFF_TUN | IFF_NO_PI): whole IP packets in and out, in batches.
/// Creates the interface or attaches to an existing one of that name.
/// </summary>
/// <remarks>
/// Read: poll for the first packet, then drain without blocking up to the batch size. Write: under a lock, so batches
/// from different threads never interleave; with offloads, the batch is coalesced first (<see cref="TunCoalescer"/>)
/// and each plain packet or super-packet is one writev(2). The MTU is read at open and then followed through
/// rtnetlink notifications. Deletion of the interface shows as POLLERR/EBADFD on the descriptor (the kernel detaches
/// the queue), so <see cref="Read"/> returns 0 and <see cref="TunEvent.Deleted"/> is reported.
/// Moving the interface to another namespace (<c>ip link set IFNAME netns OTHER</c>) keeps the descriptor valid and the
/// interface is followed there (<see cref="TunLink"/>): up/down and MTU in the new namespace are read once a second
/// (wireguard-go also polls for up/down), and right away when the engine asks (<see cref="QueryLink"/>); a move back
/// home returns to notifications. The monitor stays in the creation namespace, where the UDP sockets are.
/// Offloads (issue 9): IFF_VNET_HDR + TUNSETOFFLOAD (TSO4/6, and USO4/6 on kernels 6.2+) in <see cref="Create"/>; a
/// virtio-net header then precedes each packet, read and written at Offset - VnetHeaderSize (the headroom has room).
/// Writes rewrite the headers of a super-packet's first packet in place: the caller's buffers are consumed.
/// </remarks>
public sealed unsafe class Tun : ITun
{
    public const int DefaultBatchSize = 128;

    private readonly SafeFd _fd;
    private readonly SafeFd _wake;
    private readonly Rtnetlink _rtnetlink;
    private readonly LinkMonitor _monitor;
    private readonly Action<TunEvent>? _events;
    private readonly Lock _writeLock = new();
    private volatile int _mtu;
    private volatile bool _deleted;
    private volatile bool _closed;
    // Where the link is now (creation namespace or elsewhere) and its index there; guarded by _followLock for writes.
    private readonly TunLink _link = new();
    private readonly Lock _followLock = new();
    private readonly Timer _awayPoll;
    private volatile int _index;
    private volatile bool _atHome = true;
    private int _nsid = Interop.Netlink.NETNSA_NSID_NOT_ASSIGNED;
    private int _lastUp = -1;
    private int _deletedReported;
    private long _readErrors;
    private long _writeErrors;

    // Offloads (IFF_VNET_HDR): every read and write carries a virtio-net header; reads may be TCP super-packets,
    // read whole into _superPacket and handed out one segment per buffer (the rest wait for the next Read).
    private readonly bool _vnetHeader;
    private readonly byte[]? _superPacket;
    private TunOffload.VnetHeader _pendingHeader;
    private int _pendingLength, _pendingHeaderLength, _pendingNext, _pendingCount;
    private long _superPackets;

    // GRO on writes (offloads accepted): plans each batch into plain packets and super-packets, written with writev.
    private readonly TunCoalescer? _coalescer;
    private readonly Socket.IoVec[]? _iov; // pinned: one entry per packet of a batch

    /// <summary>The interface name the kernel settled on.</summary>
    public string Name { get; }

    /// <summary>The interface index in the namespace the interface is in now (see <see cref="InCreationNamespace"/>).</summary>
    public int InterfaceIndex => _index;

    /// <summary>
    /// False while the interface is in another namespace than the one it was created in: <see cref="Rtnetlink"/>,
    /// <see cref="SetMtu"/> and <see cref="SetUp"/> act on the creation namespace, so they are not for it then.
    /// </summary>
    public bool InCreationNamespace => _atHome;

    /// <summary>
    /// How long closing the descriptor took once <see cref="Dispose"/> is done and the last reader let go (zero before):
    /// the kernel deletes the interface inside that close(2), so it is the kernel's share of a shutdown.
    /// </summary>
    public TimeSpan CloseDuration => System.Diagnostics.Stopwatch.GetElapsedTime(0, _fd.CloseTicks);

    /// <summary>How often the link's state is read while it is in another namespace (no notifications reach us from there).</summary>
    public static readonly TimeSpan AwayPollInterval = TimeSpan.FromSeconds(1);

    public int Mtu => _mtu;

    public int BatchSize { get; }

    /// <summary>True once the interface is gone; <see cref="Read"/> then returns 0.</summary>
    public bool IsDeleted => _deleted;

    /// <summary>Reads that failed for another reason than "nothing to read".</summary>
    public long ReadErrors => Interlocked.Read(ref _readErrors);

    /// <summary>Packets the kernel refused (interface down, malformed packet), each packet of a super-packet counted.</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    public long WriteDrops => WriteErrors;

    /// <summary>TCP super-packets read and split into segments (offloads on).</summary>
    public long SuperPackets => Volatile.Read(ref _superPackets);

    /// <summary>The offloads TUNSETOFFLOAD accepted (TUN_F_* bits: CSUM, TSO4, TSO6, USO4, USO6); 0 = none.</summary>
    public uint Offloads { get; }

    /// <summary>Super-packets written (packets of one flow coalesced into one write).</summary>
    public long SuperPacketsWritten => _coalescer?.SuperPackets ?? 0;

    /// <summary>Packets that went out inside another packet's super-packet.</summary>
    public long PacketsCoalesced => _coalescer?.Merged ?? 0;

    private Tun(SafeFd fd, SafeFd wake, string name, int index, int batchSize, Action<TunEvent>? events, bool vnetHeader, uint offloads)
    {
        _vnetHeader = vnetHeader;
        Offloads = offloads;
        if (vnetHeader)
            _superPacket = GC.AllocateUninitializedArray<byte>(TunOffload.VnetHeaderSize + PacketBuffer.MaxPayload, pinned: true);
        if (vnetHeader && offloads != 0)
        {
            _coalescer = new TunCoalescer(batchSize, udp: (offloads & TunOffload.TunFUso4) != 0);
            _iov = GC.AllocateArray<Socket.IoVec>(batchSize, pinned: true);
        }
        _fd = fd;
        _wake = wake;
        Name = name;
        _index = index;
        BatchSize = batchSize;
        _events = events;
        _awayPoll = new Timer(_ => Follow(), null, Timeout.Infinite, Timeout.Infinite);
        _rtnetlink = new Rtnetlink();
        _monitor = new LinkMonitor(OnLinkEvent);
        // Read after the monitor is listening, so a change in between is not missed.
        _mtu = _rtnetlink.GetLink(index).Mtu;
    }

    /// <summary>
    /// Creates the TUN interface <paramref name="name"/> (or attaches to it) in the calling thread's network namespace.
    /// <paramref name="events"/> is called on a background thread.
    /// </summary>
    /// <param name="offload">
    /// TCP segmentation offload on reads (IFF_VNET_HDR, TSO4/TSO6): the sender's stack hands over 64 KiB at a time.
    /// Defaults to on unless ROUTERD_TUN_OFFLOAD=0; falls back to plain packets when the kernel refuses. With it,
    /// writes coalesce the packets of one TCP flow into super-packets (GRO).
    /// </param>
    /// <param name="udpOffload">
    /// Also UDP (USO4/USO6 on reads, UDP GRO on writes) where the kernel offers it; false asks for TSO only, as on a
    /// kernel before 6.2.
    /// </param>
    public static Tun Create(string name, Action<TunEvent>? events = null, int batchSize = DefaultBatchSize, bool? offload = null, bool udpOffload = true)
    {
        bool wantOffload = offload ?? Environment.GetEnvironmentVariable("ROUTERD_TUN_OFFLOAD") != "0";
        int nameBytes = Encoding.UTF8.GetByteCount(name);
        if (nameBytes is 0 or >= TunIoctl.IFNAMSIZ)
            throw new ArgumentException($"An interface name has 1 to {TunIoctl.IFNAMSIZ - 1} bytes.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);

        int fd = Libc.Open("/dev/net/tun", Libc.O_RDWR | Libc.O_CLOEXEC | Libc.O_NONBLOCK);
        if (fd < 0)
            throw OsError.Of(Marshal.GetLastPInvokeError(), "open /dev/net/tun");
        var handle = new SafeFd(fd);
        try
        {
            short flags = (short)(TunIoctl.IFF_TUN | TunIoctl.IFF_NO_PI | (wantOffload ? TunIoctl.IFF_VNET_HDR : 0));
            var request = new TunIoctl.IfReq { Flags = flags };
            Encoding.UTF8.GetBytes(name, new Span<byte>(request.Name, TunIoctl.IFNAMSIZ - 1));
            if (Libc.Ioctl(fd, TunIoctl.TUNSETIFF, &request) != 0)
                throw OsError.Of(Marshal.GetLastPInvokeError(), $"TUNSETIFF {name}");
            uint offloads = 0;
            if (wantOffload)
            {
                // USO where the kernel knows it (6.2+, EINVAL before), else TSO only; on a kernel that refuses even
                // that, the vnet header stays with nothing offloaded in it.
                offloads = TunOffload.TunFCsum | TunOffload.TunFTso4 | TunOffload.TunFTso6 | TunOffload.TunFUso4 | TunOffload.TunFUso6;
                if (!udpOffload || Libc.Ioctl(fd, TunIoctl.TUNSETOFFLOAD, (void*)(nuint)offloads) != 0)
                {
                    offloads = TunOffload.TunFCsum | TunOffload.TunFTso4 | TunOffload.TunFTso6;
                    if (Libc.Ioctl(fd, TunIoctl.TUNSETOFFLOAD, (void*)(nuint)offloads) != 0)
                        offloads = 0;
                }
            }
            string actual = Encoding.UTF8.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(request.Name));
            int wake = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            if (wake < 0)
                throw OsError.Of(Marshal.GetLastPInvokeError(), "eventfd");
            var wakeHandle = new SafeFd(wake);
            try
            {
                return new Tun(handle, wakeHandle, actual, Rtnetlink.IndexOf(actual), batchSize, events, wantOffload, offloads);
            }
            catch
            {
                wakeHandle.Dispose();
                throw;
            }
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Sets the interface MTU (68..65535); the new value shows in <see cref="Mtu"/> at once.</summary>
    public void SetMtu(int mtu)
    {
        ThrowIfAway();
        _rtnetlink.SetMtu(InterfaceIndex, mtu);
        _mtu = mtu;
    }

    /// <summary>Sets the link administratively up or down.</summary>
    public void SetUp(bool up)
    {
        ThrowIfAway();
        _rtnetlink.SetUp(InterfaceIndex, up);
    }

    private void ThrowIfAway()
    {
        if (!_atHome)
            throw new InvalidOperationException($"{Name} is in another network namespace now");
    }

    /// <summary>
    /// The link's MTU and IFF_* flags read now, in whichever namespace it is (a move is followed on the way).
    /// Throws <see cref="Win32Exception"/> when the interface is gone.
    /// </summary>
    public (int Mtu, uint Flags) QueryLink()
    {
        TunLink.State state = Locate();
        return (state.Mtu, state.Flags);
    }

    /// <summary>The rtnetlink client of the creation namespace (addresses and routes there, while <see cref="InCreationNamespace"/>).</summary>
    public Rtnetlink Rtnetlink => _rtnetlink;

    public int Read(Span<PacketBuffer> packets)
    {
        if (packets.IsEmpty || _closed || _deleted)
            return 0;
        bool fdRef = false, wakeRef = false;
        try
        {
            _fd.DangerousAddRef(ref fdRef);
            _wake.DangerousAddRef(ref wakeRef);
            return ReadCore(packets[..Math.Min(packets.Length, BatchSize)]);
        }
        catch (ObjectDisposedException)
        {
            return 0; // closed under us: same as a close during the wait
        }
        finally
        {
            if (wakeRef)
                _wake.DangerousRelease();
            if (fdRef)
                _fd.DangerousRelease();
        }
    }

    private int ReadCore(Span<PacketBuffer> packets)
    {
        int fd = _fd.Fd;
        Libc.PollFd* fds = stackalloc Libc.PollFd[2];
        while (true)
        {
            // Under load packets are already queued: read first and poll only when there is nothing (a syscall less).
            int count = Drain(fd, packets, out bool deleted);
            if (count > 0 || deleted || _closed)
                return count;

            fds[0] = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
            fds[1] = new Libc.PollFd { Fd = _wake.Fd, Events = Libc.POLLIN };
            if (Libc.Poll(fds, 2, -1) < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.EINTR)
                    continue;
                Interlocked.Increment(ref _readErrors);
                return 0;
            }
            if (_closed || fds[1].Revents != 0)
                return 0;
            if ((fds[0].Revents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0 && (fds[0].Revents & Libc.POLLIN) == 0)
            {
                MarkDeleted();
                return 0;
            }
        }
    }

    /// <summary>Reads without blocking until the batch is full or nothing is queued.</summary>
    private int Drain(int fd, Span<PacketBuffer> packets, out bool deleted)
    {
        deleted = false;
        int count = _vnetHeader ? EmitSegments(packets) : 0;
        while (count < packets.Length)
        {
            PacketBuffer packet = packets[count];
            nint n;
            if (_vnetHeader)
            {
                fixed (byte* data = _superPacket)
                    n = Libc.Read(fd, data, (nuint)_superPacket!.Length);
                if (n > 0)
                {
                    StartSegments((int)n);
                    count += EmitSegments(packets[count..]);
                    continue;
                }
            }
            else
            {
                fixed (byte* data = packet.Data)
                    n = Libc.Read(fd, data + PacketBuffer.Headroom, (nuint)packet.Capacity);
                if (n > 0)
                {
                    packet.Offset = PacketBuffer.Headroom;
                    packet.Length = (int)n;
                    packet.Endpoint = default;
                    count++;
                    continue;
                }
            }
            int errno = n < 0 ? Marshal.GetLastPInvokeError() : Errno.EBADFD;
            if (errno == Errno.EINTR)
                continue;
            if (errno == Errno.EAGAIN)
                break;
            if (errno == Errno.EBADFD)
            {
                MarkDeleted();
                deleted = true;
                return count; // the packets already read still count; the next call returns 0
            }
            Interlocked.Increment(ref _readErrors);
            break;
        }
        return count;
    }

    /// <summary>Takes a freshly read vnet header + packet in <see cref="_superPacket"/> apart (malformed: dropped).</summary>
    private void StartSegments(int length)
    {
        ReadOnlySpan<byte> read = _superPacket.AsSpan(0, length);
        _pendingNext = _pendingCount = 0;
        if (length <= TunOffload.VnetHeaderSize)
            return;
        _pendingHeader = TunOffload.VnetHeader.Read(read);
        _pendingLength = length - TunOffload.VnetHeaderSize;
        _pendingCount = TunOffload.SegmentCount(_pendingHeader, read[TunOffload.VnetHeaderSize..], out _pendingHeaderLength);
        if (_pendingCount == 0)
            Interlocked.Increment(ref _readErrors);
        else if ((_pendingHeader.GsoType & ~TunOffload.GsoEcn) != TunOffload.GsoNone)
            _superPackets++; // one reader thread: a plain increment, read racily for statistics
    }

    /// <summary>Hands out pending segments, one per buffer; returns how many buffers it filled.</summary>
    private int EmitSegments(Span<PacketBuffer> packets)
    {
        int count = 0;
        ReadOnlySpan<byte> packet = _superPacket.AsSpan(TunOffload.VnetHeaderSize, _pendingLength);
        while (_pendingNext < _pendingCount && count < packets.Length)
        {
            PacketBuffer buffer = packets[count];
            int length = TunOffload.WriteSegment(_pendingHeader, packet, _pendingHeaderLength, _pendingNext, _pendingCount,
                buffer.Data.AsSpan(PacketBuffer.Headroom, buffer.Capacity));
            if (length == 0)
            {
                // The MTU grew after the caller sized its buffers: give this slot a buffer that fits (once per MTU
                // change, not per packet), or the caller would wait forever with buffers too small to fill.
                int needed = (_pendingHeader.GsoType & ~TunOffload.GsoEcn) == TunOffload.GsoNone
                    ? _pendingLength : _pendingHeaderLength + _pendingHeader.GsoSize;
                if (needed <= PacketBuffer.MaxPayload)
                {
                    packets[count] = buffer = new PacketBuffer(Math.Min(PacketBuffer.MaxPayload, Math.Max(needed, (_mtu + 511) & ~511)));
                    length = TunOffload.WriteSegment(_pendingHeader, packet, _pendingHeaderLength, _pendingNext, _pendingCount,
                        buffer.Data.AsSpan(PacketBuffer.Headroom, buffer.Capacity));
                }
            }
            _pendingNext++;
            if (length == 0)
            {
                Interlocked.Increment(ref _readErrors);
                continue;
            }
            buffer.Offset = PacketBuffer.Headroom;
            buffer.Length = length;
            buffer.Endpoint = default;
            count++;
        }
        return count;
    }

    public void Write(ReadOnlySpan<PacketBuffer> packets)
    {
        if (packets.IsEmpty || _closed)
            return;
        bool fdRef = false;
        try
        {
            _fd.DangerousAddRef(ref fdRef);
            int fd = _fd.Fd;
            lock (_writeLock)
            {
                if (_coalescer is not null)
                {
                    for (int start = 0; start < packets.Length; start += _coalescer.Capacity)
                        WriteCoalesced(fd, packets.Slice(start, Math.Min(_coalescer.Capacity, packets.Length - start)));
                    return;
                }
                foreach (PacketBuffer packet in packets)
                {
                    int offset = packet.Offset, length = packet.Length;
                    if (_vnetHeader)
                    {
                        // A zero vnet header in the headroom: a plain packet, checksums already complete.
                        if (offset < TunOffload.VnetHeaderSize)
                        {
                            Interlocked.Increment(ref _writeErrors);
                            continue;
                        }
                        offset -= TunOffload.VnetHeaderSize;
                        length += TunOffload.VnetHeaderSize;
                        packet.Data.AsSpan(offset, TunOffload.VnetHeaderSize).Clear();
                    }
                    var iov = new Socket.IoVec { Base = DataPointer(packet) + offset, Length = (nuint)length };
                    WriteOne(fd, &iov, 1);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed while a writer was on its way in: nothing to write to.
        }
        finally
        {
            if (fdRef)
                _fd.DangerousRelease();
        }
    }

    /// <summary>One batch through the coalescer: each planned write is its first packet (vnet header in front) and
    /// the payloads of the packets merged behind it, gathered by writev. Caller holds the write lock.</summary>
    private void WriteCoalesced(int fd, ReadOnlySpan<PacketBuffer> batch)
    {
        TunCoalescer coalescer = _coalescer!;
        coalescer.Plan(batch);
        fixed (Socket.IoVec* iov = _iov)
        {
            for (int w = 0; w < coalescer.WriteCount; w++)
            {
                int i = coalescer.Head(w);
                PacketBuffer head = batch[i];
                if (head.Offset < TunOffload.VnetHeaderSize)
                {
                    Interlocked.Increment(ref _writeErrors); // no room for the vnet header
                    continue;
                }
                iov[0] = new Socket.IoVec
                {
                    Base = DataPointer(head) + head.Offset - TunOffload.VnetHeaderSize,
                    Length = (nuint)(head.Length + TunOffload.VnetHeaderSize),
                };
                int count = 1, skip = coalescer.HeaderLength(w);
                for (int j = coalescer.Next(i); j >= 0; j = coalescer.Next(j))
                    iov[count++] = new Socket.IoVec { Base = DataPointer(batch[j]) + batch[j].Offset + skip, Length = (nuint)(batch[j].Length - skip) };
                WriteOne(fd, iov, count);
            }
        }
    }

    /// <summary>
    /// One packet (or super-packet) to the TUN; failures are counted, never thrown. Each iovec is one packet (a
    /// super-packet's head, then one per packet merged behind it), so a failure counts <paramref name="count"/>.
    /// </summary>
    private void WriteOne(int fd, Socket.IoVec* iov, int count)
    {
        while (Libc.Writev(fd, iov, count) < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
                continue;
            if (errno == Errno.EBADFD)
                MarkDeleted();
            Interlocked.Add(ref _writeErrors, count);
            return;
        }
    }

    /// <summary>The start of a buffer's bytes: packet buffers live on the pinned heap, so the address is stable.</summary>
    private static byte* DataPointer(PacketBuffer buffer)
        => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer.Data));

    public void Dispose()
    {
        if (_closed)
            return;
        _closed = true;
        Wake();
        lock (_followLock)
            _awayPoll.Dispose();
        _monitor.Dispose();
        _rtnetlink.Dispose();
        _fd.Dispose();
        _wake.Dispose();
    }

    private void Wake()
    {
        bool added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            ulong one = 1;
            Libc.Write(_wake.Fd, (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
                _wake.DangerousRelease();
        }
    }

    private void MarkDeleted()
    {
        // Both the reader (EBADFD) and the monitor (RTM_DELLINK) may get here; report once.
        if (Interlocked.Exchange(ref _deletedReported, 1) != 0)
            return;
        _deleted = true;
        Wake();
        _events?.Invoke(TunEvent.Deleted);
    }

    private void OnLinkEvent(LinkEvent e)
    {
        if (e.Kind == LinkEventKind.Overrun)
        {
            Follow(); // notifications were lost: read the link again rather than trust the last state seen
            return;
        }
        // Away, the creation namespace says nothing about the link (its old index may be an unrelated link now), except
        // that a link arriving here may be it coming back: look at once rather than at the next poll.
        if (!_atHome)
        {
            if (e.Kind == LinkEventKind.LinkChanged)
                Follow();
            return;
        }
        if (e.InterfaceIndex != _index)
            return;
        switch (e.Kind)
        {
            case LinkEventKind.LinkChanged:
                Report(e.Mtu, e.Flags);
                break;
            case LinkEventKind.LinkDeleted:
                MarkDeleted();
                break;
            case LinkEventKind.LinkMovedAway:
                Follow(); // the descriptor stays valid: find the link in its new namespace
                break;
        }
    }

    /// <summary>Reads where and how the link is now and reports what changed; a gone link is left to the descriptor.</summary>
    private void Follow()
    {
        try
        {
            Locate();
        }
        catch (Win32Exception)
        {
            // Gone (deletion shows on the descriptor) or between namespaces: the next poll or event tries again.
        }
        catch (ObjectDisposedException)
        {
            // Closed while a poll was on its way.
        }
    }

    private TunLink.State Locate()
    {
        lock (_followLock)
        {
            if (_closed)
                throw new ObjectDisposedException(nameof(Tun));
            bool fdRef = false;
            TunLink.State state;
            try
            {
                _fd.DangerousAddRef(ref fdRef);
                state = _link.Locate(_fd.Fd, _rtnetlink);
            }
            finally
            {
                if (fdRef)
                    _fd.DangerousRelease();
            }
            bool moved = state.AtHome != _atHome || (!state.AtHome && state.Nsid != _nsid);
            _index = state.Index;
            _nsid = state.Nsid;
            _atHome = state.AtHome;
            // Home: notifications drive; away: nothing reaches the creation namespace's monitor, so poll.
            _awayPoll.Change(state.AtHome ? Timeout.InfiniteTimeSpan : AwayPollInterval, state.AtHome ? Timeout.InfiniteTimeSpan : AwayPollInterval);
            if (moved)
                _events?.Invoke(TunEvent.NamespaceChanged);
            Report(state.Mtu, state.Flags);
            return state;
        }
    }

    /// <summary>Reports an MTU change and an up/down transition (the kernel sends RTM_NEWLINK for many unrelated changes).</summary>
    private void Report(int mtu, uint flags)
    {
        if (mtu > 0 && mtu != _mtu)
        {
            _mtu = mtu;
            _events?.Invoke(TunEvent.MtuChanged);
        }
        int up = (flags & Interop.Netlink.IFF_UP) != 0 ? 1 : 0;
        if (Interlocked.Exchange(ref _lastUp, up) != up)
            _events?.Invoke(up == 1 ? TunEvent.Up : TunEvent.Down);
    }
}
