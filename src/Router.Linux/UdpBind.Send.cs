using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Router.Linux.Interop;
using Router.Tunnel.IO;
using static Router.Linux.Interop.Socket;

namespace Router.Linux;

// Sending (sendmmsg, and UDP GSO where the kernel has it):
//
//   batch -> per family, in order -> one message per run of datagrams to the same endpoint (address, port, sticky
//   source) whose sizes are equal but for a shorter last one, at most 64 and one UDP payload long; the run's buffers
//   are the message's iovec (no copy) and a UDP_SEGMENT cmsg carries the size -> sendmmsg
//   -> a segmented message that fails (EMSGSIZE: a segment exceeds the route MTU; EIO: no checksum offload, or
//      anything else but a full buffer) is sent again as single datagrams, so each one fares as it would without GSO;
//      EIO also turns GSO off for the socket (as wireguard-go does); EMSGSIZE does not, since it is about one route.
public sealed unsafe partial class UdpBind
{
    // Room for one in6_pktinfo (40) plus one UDP_SEGMENT (24) control message.
    private const int ControlSize = 64;

    private long _segmentedSends;
    private long _segmentFallbacks;

    /// <summary>Messages sent with UDP_SEGMENT (each carried two or more datagrams).</summary>
    public long SegmentedSends => Interlocked.Read(ref _segmentedSends);

    /// <summary>Segmented messages the kernel refused, sent again one datagram at a time.</summary>
    public long SegmentFallbacks => Interlocked.Read(ref _segmentFallbacks);

    /// <summary>Sends without reporting which datagrams failed (they are still counted in <see cref="SendErrors"/>).</summary>
    public int Send(ReadOnlySpan<PacketBuffer> packets) => Send(packets, default);

    public int Send(ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
    {
        if (!sent.IsEmpty)
            sent[..packets.Length].Clear();
        if (packets.IsEmpty || _closed)
            return 0;
        bool r4 = false, r6 = false;
        int total = 0;
        try
        {
            _v4?.DangerousAddRef(ref r4);
            _v6?.DangerousAddRef(ref r6);
            for (int offset = 0; offset < packets.Length; offset += BatchSize)
            {
                int chunk = Math.Min(packets.Length - offset, BatchSize);
                total += SendChunk(packets.Slice(offset, chunk), sent.IsEmpty ? sent : sent.Slice(offset, chunk));
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed while sending: the rest is dropped, as on a closed socket.
        }
        finally
        {
            if (r6)
                _v6!.DangerousRelease();
            if (r4)
                _v4!.DangerousRelease();
        }
        return total;
    }

    /// <summary>Sends up to <see cref="BatchSize"/> datagrams; returns how many the kernel took.</summary>
    private int SendChunk(ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
    {
        int n = packets.Length;
        // Everything on this thread's stack: concurrent senders share nothing. About 20 KiB for 128 datagrams.
        MMsgHdr* messages = stackalloc MMsgHdr[n];
        IoVec* iovecs = stackalloc IoVec[n];
        byte* names = stackalloc byte[n * SockAddrSize];
        byte* controls = stackalloc byte[n * ControlSize];
        int* owners = stackalloc int[n]; // iovec -> packet index
        var vectors = new SendVectors(iovecs, owners);

        int total = 0, iovCount = 0, messageCount = 0;
        // IPv4 first, then IPv6: two runs in the same arrays.
        for (int pass = 0; pass < 2; pass++)
        {
            bool wantV4 = pass == 0;
            bool gso = wantV4 ? _gso4 : _gso6;
            int maxPayload = wantV4 ? UdpOffload.MaxIPv4Payload : UdpOffload.MaxIPv6Payload;
            int firstMessage = messageCount;
            int runBytes = 0;
            for (int i = 0; i < n; i++)
            {
                PacketBuffer packet = packets[i];
                ref readonly Endpoint endpoint = ref packet.Endpoint;
                if (endpoint.IsIPv4 != wantV4)
                    continue;
                if (!endpoint.IsSet || (wantV4 ? _v4 : _v6) is null)
                {
                    Interlocked.Increment(ref _sendErrors);
                    continue;
                }
                iovecs[iovCount] = new IoVec
                {
                    // PacketBuffer.Data lives on the pinned object heap, so its address is stable.
                    Base = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(packet.Data)) + packet.Offset,
                    Length = (nuint)packet.Length,
                };
                owners[iovCount] = i;

                if (gso && messageCount > firstMessage && Joins(ref messages[messageCount - 1].Header, iovecs, owners, packets, packet, runBytes, maxPayload))
                {
                    messages[messageCount - 1].Header.IovLength++;
                    runBytes += packet.Length;
                }
                else
                {
                    byte* name = names + messageCount * SockAddrSize;
                    byte* control = controls + messageCount * ControlSize;
                    uint nameLength = WriteAddress(endpoint, wantV4, name, control, out nuint controlLength);
                    messages[messageCount] = new MMsgHdr
                    {
                        Header = new MsgHdr
                        {
                            Name = name,
                            NameLength = nameLength,
                            Iov = &iovecs[iovCount],
                            IovLength = 1,
                            Control = control, // reset to null below when nothing was written
                            ControlLength = controlLength,
                        },
                    };
                    messageCount++;
                    runBytes = packet.Length;
                }
                iovCount++;
            }
            for (int m = firstMessage; m < messageCount; m++)
                FinishControl(ref messages[m].Header);
            if (messageCount > firstMessage)
                total += SendRun(wantV4 ? _v4!.Fd : _v6!.Fd, wantV4, messages + firstMessage, messageCount - firstMessage, vectors, packets, sent);
        }
        return total;
    }

    /// <summary>
    /// Whether <paramref name="packet"/> can be the next segment of the message being built: same endpoint (address,
    /// port and sticky source), not larger than the first segment, no shorter segment before it (only the last may be
    /// short), and within the kernel's 64 segments and one UDP payload.
    /// </summary>
    private static bool Joins(ref MsgHdr open, IoVec* iovecs, int* owners, ReadOnlySpan<PacketBuffer> packets, PacketBuffer packet,
        int runBytes, int maxPayload)
    {
        int first = (int)(open.Iov - iovecs);
        int last = first + (int)open.IovLength - 1;
        nuint segment = open.Iov[0].Length;
        return open.IovLength < UdpOffload.MaxSegments
            && packet.Length > 0 && (nuint)packet.Length <= segment
            && iovecs[last].Length == segment
            && runBytes + packet.Length <= maxPayload
            && packets[owners[first]].Endpoint == packet.Endpoint;
    }

    /// <summary>Appends the UDP_SEGMENT cmsg to a message of two or more datagrams; drops an empty control buffer.</summary>
    private static void FinishControl(ref MsgHdr message)
    {
        if (message.IovLength > 1)
        {
            CMsgHdr* cmsg = (CMsgHdr*)((byte*)message.Control + message.ControlLength);
            *cmsg = new CMsgHdr { Length = (nuint)CMsgHdr.Len(sizeof(ushort)), Level = SOL_UDP, Type = UDP_SEGMENT };
            *(ushort*)((byte*)cmsg + CMsgHdr.HeaderSize) = (ushort)message.Iov[0].Length;
            message.ControlLength += (nuint)UdpOffload.SegmentControlSpace;
        }
        if (message.ControlLength == 0)
            message.Control = null;
    }

    /// <summary>Writes the destination sockaddr and, for a sticky source, its pktinfo cmsg; returns the name length.</summary>
    private static uint WriteAddress(in Endpoint endpoint, bool v4, byte* name, byte* control, out nuint controlLength)
    {
        controlLength = 0;
        UInt128 localRaw = endpoint.LocalAddress; // network order in memory (see Endpoint)
        if (v4)
        {
            SockAddrIn* address = (SockAddrIn*)name;
            *address = new SockAddrIn { Family = AF_INET, Port = BinaryPrimitives.ReverseEndianness(endpoint.Port) };
            endpoint.WriteIPv4(new Span<byte>(&address->Address, 4));
            // Pin only an IPv4 source to an IPv4 destination (an endpoint can change family under a stale source).
            if (localRaw != UInt128.Zero && new Endpoint(localRaw, 1).IsIPv4)
            {
                CMsgHdr* cmsg = (CMsgHdr*)control;
                *cmsg = new CMsgHdr { Length = (nuint)CMsgHdr.Len(sizeof(InPktInfo)), Level = IPPROTO_IP, Type = IP_PKTINFO };
                // Only the source address is pinned; the route picks the interface, as the kernel's send4 does.
                *(InPktInfo*)((byte*)cmsg + CMsgHdr.HeaderSize) = new InPktInfo
                {
                    SpecificDestination = *(uint*)((byte*)&localRaw + 12),
                };
                controlLength = (nuint)CMsgHdr.Space(sizeof(InPktInfo));
            }
            return (uint)sizeof(SockAddrIn);
        }

        SockAddrIn6* address6 = (SockAddrIn6*)name;
        *address6 = new SockAddrIn6 { Family = AF_INET6, Port = BinaryPrimitives.ReverseEndianness(endpoint.Port) };
        endpoint.WriteAddress(new Span<byte>(address6->Address, 16));
        if (localRaw != UInt128.Zero && !new Endpoint(localRaw, 1).IsIPv4)
        {
            CMsgHdr* cmsg = (CMsgHdr*)control;
            *cmsg = new CMsgHdr { Length = (nuint)CMsgHdr.Len(sizeof(In6PktInfo)), Level = IPPROTO_IPV6, Type = IPV6_PKTINFO };
            byte firstByte = *(byte*)&localRaw, secondByte = *((byte*)&localRaw + 1);
            bool linkLocal = firstByte == 0xfe && (secondByte & 0xc0) == 0x80;
            In6PktInfo* info = (In6PktInfo*)((byte*)cmsg + CMsgHdr.HeaderSize);
            Unsafe.WriteUnaligned(info->Address, localRaw);
            // A link-local source only means something together with its interface.
            info->IfIndex = linkLocal ? endpoint.LocalInterface : 0;
            if (linkLocal)
                address6->ScopeId = (uint)endpoint.LocalInterface;
            controlLength = (nuint)CMsgHdr.Space(sizeof(In6PktInfo));
        }
        return (uint)sizeof(SockAddrIn6);
    }

    /// <summary>The iovecs of one chunk and the packet each belongs to (to report and count per datagram).</summary>
    private readonly struct SendVectors(IoVec* iovecs, int* owners)
    {
        public readonly IoVec* IoVecs = iovecs;
        public readonly int* Owners = owners;

        public int Owner(in MsgHdr message, int segment) => Owners[(int)(message.Iov - IoVecs) + segment];
    }

    /// <summary>sendmmsg of one family's messages with the per-message fallbacks; returns the datagrams sent.</summary>
    private int SendRun(int fd, bool v4, MMsgHdr* messages, int count, SendVectors vectors, ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
    {
        int done = 0, datagrams = 0;
        while (done < count)
        {
            int accepted = SendMessages(fd, messages + done, (uint)(count - done), 0);
            if (accepted > 0)
            {
                for (int m = done; m < done + accepted; m++)
                {
                    ref MsgHdr message = ref messages[m].Header;
                    int segments = (int)message.IovLength;
                    if (segments > 1)
                        Interlocked.Increment(ref _segmentedSends);
                    if (!sent.IsEmpty)
                        for (int s = 0; s < segments; s++)
                            sent[vectors.Owner(message, s)] = true;
                    datagrams += segments;
                }
                done += accepted;
                continue;
            }
            int errno = accepted < 0 ? Marshal.GetLastPInvokeError() : Errno.EIO;
            if (errno == Errno.EINTR)
                continue;
            ref MsgHdr failed = ref messages[done].Header;
            if (failed.IovLength > 1)
            {
                datagrams += SegmentFailed(fd, v4, ref failed, errno, vectors, packets, sent);
                done++;
                continue;
            }
            // A pinned source that is no longer local fails with EINVAL for IPv6 (ip6_datagram_send_ctl) and
            // ENETUNREACH for IPv4 (the output route lookup); EADDRNOTAVAIL covers the rest. Retrying costs one call.
            if ((errno is Errno.EINVAL or Errno.EADDRNOTAVAIL or Errno.ENETUNREACH) && failed.Control != null)
            {
                // The sticky source left the host: let the kernel choose, and tell the caller through the endpoint.
                failed.Control = null;
                failed.ControlLength = 0;
                PacketBuffer owner = packets[vectors.Owner(failed, 0)];
                owner.Endpoint = owner.Endpoint.WithoutSource();
                Interlocked.Increment(ref _sourceFallbacks);
                continue;
            }
            Interlocked.Increment(ref _sendErrors);
            _lastSendErrno = errno;
            done++;
        }
        return datagrams;
    }

    /// <summary>
    /// A segmented message the kernel refused. A full buffer (EAGAIN, ENOBUFS) would refuse single datagrams too,
    /// so they count as failed; anything else is retried one datagram per message, and EIO turns GSO off.
    /// </summary>
    private int SegmentFailed(int fd, bool v4, ref MsgHdr failed, int errno, SendVectors vectors, ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
    {
        int segments = (int)failed.IovLength;
        if (errno is Errno.EAGAIN or Errno.ENOBUFS)
        {
            Interlocked.Add(ref _sendErrors, segments);
            _lastSendErrno = errno;
            return 0;
        }
        if (errno == Errno.EIO)
        {
            if (v4)
                _gso4 = false;
            else
                _gso6 = false;
        }
        Interlocked.Increment(ref _segmentFallbacks);
        // Same destination and sticky source, without the UDP_SEGMENT cmsg (always last in the control buffer).
        nuint controlLength = failed.ControlLength - (nuint)UdpOffload.SegmentControlSpace;
        MMsgHdr* singles = stackalloc MMsgHdr[segments];
        for (int s = 0; s < segments; s++)
        {
            singles[s] = new MMsgHdr
            {
                Header = new MsgHdr
                {
                    Name = failed.Name,
                    NameLength = failed.NameLength,
                    Iov = failed.Iov + s,
                    IovLength = 1,
                    Control = controlLength == 0 ? null : failed.Control,
                    ControlLength = controlLength,
                },
            };
        }
        return SendRun(fd, v4, singles, segments, vectors, packets, sent);
    }
}
