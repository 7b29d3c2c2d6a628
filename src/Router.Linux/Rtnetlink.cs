using System.Buffers.Binary;
using System.ComponentModel;
using System.Net;
using System.Runtime.InteropServices;
using Router.Linux.Interop;
using static Router.Linux.Interop.Netlink;

namespace Router.Linux;

/// <summary>
/// A minimal rtnetlink (NETLINK_ROUTE) client: link MTU and state, adding and deleting one address or one route. Every request asks for an
/// acknowledgement, so a failure surfaces as a <see cref="Win32Exception"/> carrying the kernel's errno.
/// </summary>
/// <remarks>
/// The socket belongs to the network namespace of the thread that constructed this object; calls from any thread act
/// in that namespace. Calls are serialized (configuration path, never the packet path).
/// </remarks>
public sealed unsafe class Rtnetlink : IDisposable
{
    private readonly SafeFd _fd;
    private readonly Lock _lock = new();
    private readonly byte[] _request = new byte[512];
    private readonly byte[] _reply = new byte[64 * 1024];
    private uint _sequence;

    public Rtnetlink()
    {
        int fd = Interop.Socket.Create(Interop.Socket.AF_NETLINK, Interop.Socket.SOCK_RAW | Interop.Socket.SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
            throw OsError.Of(Marshal.GetLastPInvokeError(), "socket(AF_NETLINK)");
        _fd = new SafeFd(fd);
        var local = new SockAddrNl { Family = Interop.Socket.AF_NETLINK };
        if (Interop.Socket.Bind(fd, &local, (uint)sizeof(SockAddrNl)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _fd.Dispose();
            throw OsError.Of(errno, "bind(AF_NETLINK)");
        }
    }

    /// <summary>Whether an interface of this name exists in the calling thread's network namespace.</summary>
    public static bool Exists(string name) => Libc.IfNameToIndex(name) != 0;

    /// <summary>The interface index for a name in the calling thread's namespace (throws when there is none).</summary>
    public static int IndexOf(string name)
    {
        uint index = Libc.IfNameToIndex(name);
        if (index == 0)
            throw OsError.Of(Marshal.GetLastPInvokeError(), $"no interface named {name}");
        return (int)index;
    }

    /// <summary>Reads a link's MTU and IFF_* flags.</summary>
    public (int Mtu, uint Flags) GetLink(int interfaceIndex)
    {
        lock (_lock)
        {
            var message = new IfInfoMsg { Index = interfaceIndex };
            int length = Begin(RTM_GETLINK, 0, ref message);
            int mtu = 0;
            uint flags = 0;
            Transact(length, (type, body) =>
            {
                if (type != RTM_NEWLINK || body.Length < sizeof(IfInfoMsg))
                    return;
                var info = MemoryMarshal.Read<IfInfoMsg>(body);
                if (info.Index != interfaceIndex)
                    return;
                flags = info.Flags;
                foreach (var (attrType, payload) in Attributes(body[sizeof(IfInfoMsg)..]))
                    if (attrType == IFLA_MTU && payload.Length >= 4)
                        mtu = MemoryMarshal.Read<int>(payload);
            });
            return (mtu, flags);
        }
    }

    /// <summary>
    /// Reads a link by name: its index, MTU and IFF_* flags, in this socket's namespace or, with
    /// <paramref name="targetNsid"/>, in the peer namespace of that id (IFLA_TARGET_NETNSID; CAP_NET_ADMIN there).
    /// Throws ENODEV when there is no such link.
    /// </summary>
    public (int Index, int Mtu, uint Flags) GetLink(string name, int? targetNsid)
    {
        lock (_lock)
        {
            var message = new IfInfoMsg();
            int length = Begin(RTM_GETLINK, 0, ref message);
            length = AppendAttribute(length, IFLA_IFNAME, NulTerminated(name));
            if (targetNsid is int nsid)
                length = AppendAttribute(length, IFLA_TARGET_NETNSID, BitConverter.GetBytes(nsid));
            int index = 0, mtu = 0;
            uint flags = 0;
            Transact(length, (type, body) =>
            {
                if (type != RTM_NEWLINK || body.Length < sizeof(IfInfoMsg))
                    return;
                var info = MemoryMarshal.Read<IfInfoMsg>(body);
                index = info.Index;
                flags = info.Flags;
                foreach (var (attrType, payload) in Attributes(body[sizeof(IfInfoMsg)..]))
                    if (attrType == IFLA_MTU && payload.Length >= 4)
                        mtu = MemoryMarshal.Read<int>(payload);
            });
            return (index, mtu, flags);
        }
    }

    /// <summary>
    /// The id this socket's namespace gives the namespace behind <paramref name="namespaceFd"/> (a /proc/PID/ns/net or
    /// TUNGETDEVNETNS descriptor), assigning one when it has none yet (as `ip link set netns` does).
    /// </summary>
    public int NamespaceId(int namespaceFd)
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            int nsid = NETNSA_NSID_NOT_ASSIGNED;
            lock (_lock)
            {
                var message = new RtGenMsg { Family = 0 };
                int length = Begin(RTM_GETNSID, 0, ref message);
                length = AppendAttribute(length, NETNSA_FD, BitConverter.GetBytes(namespaceFd));
                Transact(length, (type, body) =>
                {
                    if (type != RTM_NEWNSID || body.Length < sizeof(RtGenMsg))
                        return;
                    foreach (var (attrType, payload) in Attributes(body[sizeof(RtGenMsg)..]))
                        if (attrType == NETNSA_NSID && payload.Length >= 4)
                            nsid = MemoryMarshal.Read<int>(payload);
                });
            }
            if (nsid != NETNSA_NSID_NOT_ASSIGNED)
                return nsid;
            lock (_lock)
            {
                var message = new RtGenMsg { Family = 0 };
                int length = Begin(RTM_NEWNSID, 0, ref message);
                length = AppendAttribute(length, NETNSA_FD, BitConverter.GetBytes(namespaceFd));
                length = AppendAttribute(length, NETNSA_NSID, BitConverter.GetBytes(NETNSA_NSID_NOT_ASSIGNED)); // -1: the kernel picks
                try
                {
                    Transact(length, null);
                }
                catch (Win32Exception e) when (e.NativeErrorCode == Errno.EEXIST)
                {
                    // Someone assigned one in between: read it on the next round.
                }
            }
        }
        throw OsError.Of(Errno.ENOENT, "no namespace id could be assigned");
    }

    private static byte[] NulTerminated(string name)
    {
        byte[] bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(name) + 1];
        System.Text.Encoding.UTF8.GetBytes(name, bytes);
        return bytes;
    }

    public void SetMtu(int interfaceIndex, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 68);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mtu, 65535);
        lock (_lock)
        {
            var message = new IfInfoMsg { Index = interfaceIndex };
            int length = Begin(RTM_NEWLINK, 0, ref message);
            length = AppendAttribute(length, IFLA_MTU, BitConverter.GetBytes(mtu));
            Transact(length, null);
        }
    }

    public void SetUp(int interfaceIndex, bool up)
    {
        lock (_lock)
        {
            var message = new IfInfoMsg { Index = interfaceIndex, Flags = up ? IFF_UP : 0, Change = IFF_UP };
            Transact(Begin(RTM_NEWLINK, 0, ref message), null);
        }
    }

    /// <summary>Adds <paramref name="address"/>/<paramref name="prefixLength"/> to an interface (EEXIST if present).</summary>
    public void AddAddress(int interfaceIndex, IPAddress address, int prefixLength)
        => Address(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, interfaceIndex, address, prefixLength);

    /// <summary>
    /// Deletes exactly <paramref name="address"/>/<paramref name="prefixLength"/> from an interface (EADDRNOTAVAIL if
    /// absent). The kernel removes the address's own prefix route with it.
    /// </summary>
    public void DeleteAddress(int interfaceIndex, IPAddress address, int prefixLength)
        => Address(RTM_DELADDR, 0, interfaceIndex, address, prefixLength);

    private void Address(ushort type, ushort flags, int interfaceIndex, IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        CheckPrefix(bytes, prefixLength);
        lock (_lock)
        {
            var message = new IfAddrMsg
            {
                Family = (byte)(bytes.Length == 4 ? Interop.Socket.AF_INET : Interop.Socket.AF_INET6),
                PrefixLength = (byte)prefixLength,
                Index = interfaceIndex,
            };
            int length = Begin(type, flags, ref message);
            length = AppendAttribute(length, IFA_LOCAL, bytes);
            length = AppendAttribute(length, IFA_ADDRESS, bytes);
            Transact(length, null);
        }
    }

    /// <summary>Adds a route for <paramref name="destination"/>/<paramref name="prefixLength"/> through an interface (main table).</summary>
    public void AddRoute(int interfaceIndex, IPAddress destination, int prefixLength)
        => Route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, interfaceIndex, destination, prefixLength);

    /// <summary>
    /// Deletes the route <see cref="AddRoute"/> made: same prefix, same interface, main table, routerd's protocol
    /// (ESRCH if there is none). The protocol and the output interface make the kernel match only that route, so a
    /// route someone else added for the same prefix (another interface, another protocol) is left alone.
    /// </summary>
    public void DeleteRoute(int interfaceIndex, IPAddress destination, int prefixLength)
        => Route(RTM_DELROUTE, 0, interfaceIndex, destination, prefixLength);

    private void Route(ushort type, ushort flags, int interfaceIndex, IPAddress destination, int prefixLength)
    {
        byte[] bytes = destination.GetAddressBytes();
        CheckPrefix(bytes, prefixLength);
        lock (_lock)
        {
            var message = new RtMsg
            {
                Family = (byte)(bytes.Length == 4 ? Interop.Socket.AF_INET : Interop.Socket.AF_INET6),
                DestinationLength = (byte)prefixLength,
                Table = RT_TABLE_MAIN,
                Protocol = RTPROT_BOOT,
                Scope = RT_SCOPE_LINK, // directly on the (point-to-point) interface, no gateway
                Type = RTN_UNICAST,
            };
            int length = Begin(type, flags, ref message);
            length = AppendAttribute(length, RTA_DST, bytes);
            length = AppendAttribute(length, RTA_OIF, BitConverter.GetBytes(interfaceIndex));
            Transact(length, null);
        }
    }

    public void Dispose() => _fd.Dispose();

    private static void CheckPrefix(byte[] address, int prefixLength)
    {
        if (prefixLength < 0 || prefixLength > address.Length * 8)
            throw new ArgumentOutOfRangeException(nameof(prefixLength));
    }

    private int Begin<T>(ushort type, ushort flags, ref T body) where T : unmanaged
    {
        Array.Clear(_request);
        var header = new NlMsgHdr { Type = type, Flags = (ushort)(NLM_F_REQUEST | NLM_F_ACK | flags), Sequence = ++_sequence };
        MemoryMarshal.Write(_request, in header);
        MemoryMarshal.Write(_request.AsSpan(sizeof(NlMsgHdr)), in body);
        return Align(sizeof(NlMsgHdr) + sizeof(T));
    }

    private int AppendAttribute(int offset, ushort type, ReadOnlySpan<byte> payload)
    {
        var attribute = new RtAttr { Length = (ushort)(sizeof(RtAttr) + payload.Length), Type = type };
        MemoryMarshal.Write(_request.AsSpan(offset), in attribute);
        payload.CopyTo(_request.AsSpan(offset + sizeof(RtAttr)));
        return offset + Align(attribute.Length);
    }

    internal delegate void ReplyHandler(ushort type, ReadOnlySpan<byte> body);

    /// <summary>Sends the request in <see cref="_request"/> and reads replies until the kernel's acknowledgement.</summary>
    private void Transact(int length, ReplyHandler? onReply)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_request, (uint)length);
        uint sequence = _sequence;
        var kernel = new SockAddrNl { Family = Interop.Socket.AF_NETLINK };
        fixed (byte* request = _request)
        {
            if (Interop.Socket.SendTo(_fd.Fd, request, (nuint)length, 0, &kernel, (uint)sizeof(SockAddrNl)) < 0)
                throw OsError.Of(Marshal.GetLastPInvokeError(), "rtnetlink send");
        }
        while (true)
        {
            nint received;
            fixed (byte* reply = _reply)
                received = Interop.Socket.Receive(_fd.Fd, reply, (nuint)_reply.Length, 0);
            if (received < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                    continue;
                throw OsError.Of(errno, "rtnetlink receive");
            }
            var span = _reply.AsSpan(0, (int)received);
            while (span.Length >= sizeof(NlMsgHdr))
            {
                var header = MemoryMarshal.Read<NlMsgHdr>(span);
                if (header.Length < sizeof(NlMsgHdr) || header.Length > span.Length)
                    break;
                var body = span[sizeof(NlMsgHdr)..(int)header.Length];
                if (header.Sequence == sequence)
                {
                    if (header.Type == NLMSG_ERROR)
                    {
                        int error = MemoryMarshal.Read<int>(body);
                        if (error != 0)
                            throw OsError.Of(-error, $"rtnetlink request {BinaryPrimitives.ReadUInt16LittleEndian(_request.AsSpan(4))}");
                        return;
                    }
                    if (header.Type != NLMSG_DONE)
                        onReply?.Invoke(header.Type, body);
                }
                span = span[Math.Min(Align((int)header.Length), span.Length)..];
            }
        }
    }

    /// <summary>Walks rtattr records (allocates an enumerator; configuration path only).</summary>
    internal static List<(ushort Type, byte[] Payload)> Attributes(ReadOnlySpan<byte> span)
    {
        var list = new List<(ushort, byte[])>();
        while (span.Length >= sizeof(RtAttr))
        {
            var attribute = MemoryMarshal.Read<RtAttr>(span);
            if (attribute.Length < sizeof(RtAttr) || attribute.Length > span.Length)
                break;
            list.Add(((ushort)(attribute.Type & 0x3fff), span[sizeof(RtAttr)..attribute.Length].ToArray()));
            span = span[Math.Min(Align(attribute.Length), span.Length)..];
        }
        return list;
    }

    internal static IPAddress? AddressFrom(ReadOnlySpan<byte> bytes, byte family)
    {
        if (family == Interop.Socket.AF_INET && bytes.Length >= 4)
            return new IPAddress(bytes[..4]);
        if (family == Interop.Socket.AF_INET6 && bytes.Length >= 16)
            return new IPAddress(bytes[..16]);
        return null;
    }
}
