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
/// Moving the interface to another namespace keeps the descriptor valid; MTU and link changes made in the new
/// namespace are then not seen (the monitor stays in the namespace this object was created in).
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
    private volatile bool _movedAway;
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

    /// <summary>The interface index in the namespace it was created in.</summary>
    public int InterfaceIndex { get; }

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
        InterfaceIndex = index;
        BatchSize = batchSize;
        _events = events;
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
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "open /dev/net/tun");
        var handle = new SafeFd(fd);
        try
        {
            short flags = (short)(TunIoctl.IFF_TUN | TunIoctl.IFF_NO_PI | (wantOffload ? TunIoctl.IFF_VNET_HDR : 0));
            var request = new TunIoctl.IfReq { Flags = flags };
            Encoding.UTF8.GetBytes(name, new Span<byte>(request.Name, TunIoctl.IFNAMSIZ - 1));
            if (Libc.Ioctl(fd, TunIoctl.TUNSETIFF, &request) != 0)
                throw new Win32Exception(Marshal.GetLastPInvokeError(), $"TUNSETIFF {name}");
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
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "eventfd");
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
        _rtnetlink.SetMtu(InterfaceIndex, mtu);
        _mtu = mtu;
    }

    /// <summary>Sets the link administratively up or down.</summary>
    public void SetUp(bool up) => _rtnetlink.SetUp(InterfaceIndex, up);

    /// <summary>The rtnetlink client of this interface's namespace (addresses and routes for it).</summary>
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
        // Once the link left this namespace, its old index may be reused here by an unrelated interface.
        if ((e.InterfaceIndex != InterfaceIndex && e.Kind != LinkEventKind.Overrun) || _movedAway)
            return;
        switch (e.Kind)
        {
            case LinkEventKind.LinkChanged:
                if (e.Mtu > 0 && e.Mtu != _mtu)
                {
                    _mtu = e.Mtu;
                    _events?.Invoke(TunEvent.MtuChanged);
                }
                // Report transitions only: the kernel sends RTM_NEWLINK for many unrelated changes.
                int up = e.IsUp ? 1 : 0;
                if (Interlocked.Exchange(ref _lastUp, up) != up)
                    _events?.Invoke(e.IsUp ? TunEvent.Up : TunEvent.Down);
                break;
            case LinkEventKind.Overrun:
                // Notifications were lost: read the MTU again rather than trust the last one seen.
                try
                {
                    _mtu = _rtnetlink.GetLink(InterfaceIndex).Mtu;
                }
                catch (Win32Exception)
                {
                    // Gone or moved: deletion still shows on the descriptor.
                }
                break;
            case LinkEventKind.LinkDeleted:
                MarkDeleted();
                break;
            case LinkEventKind.LinkMovedAway:
                _movedAway = true; // the descriptor stays valid; deletion now shows only on the descriptor
                break;
        }
    }
}
