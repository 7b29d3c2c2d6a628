using System.Runtime.InteropServices;

namespace Router.Linux.Interop;

/// <summary>BSD socket calls and the structures of sys/socket.h and netinet/in.h (LP64 layout: x86-64 and ARM64).</summary>
internal static unsafe partial class Socket
{
    internal const int AF_INET = 2;
    internal const int AF_INET6 = 10;
    internal const int AF_NETLINK = 16;

    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_RAW = 3;
    internal const int SOCK_NONBLOCK = 0x800;
    internal const int SOCK_CLOEXEC = 0x80000;

    internal const int SOL_SOCKET = 1;
    internal const int SO_REUSEADDR = 2;
    internal const int SO_SNDBUF = 7;
    internal const int SO_RCVBUF = 8;
    internal const int SO_SNDBUFFORCE = 32;
    internal const int SO_RCVBUFFORCE = 33;
    internal const int SO_MARK = 36;
    /// <summary>getsockopt: the socket's memory counters, u32[SK_MEMINFO_VARS] (linux/sock_diag.h).</summary>
    internal const int SO_MEMINFO = 55;
    internal const int SK_MEMINFO_VARS = 9;
    /// <summary>Index of sk_drops in SO_MEMINFO: datagrams the kernel dropped at this socket (buffer full, checksum).</summary>
    internal const int SK_MEMINFO_DROPS = 8;

    internal const int IPPROTO_IP = 0;
    internal const int SOL_UDP = 17;
    /// <summary>linux/udp.h: the segment size of a GSO send (cmsg data: u16) and, as a socket option, the default.</summary>
    internal const int UDP_SEGMENT = 103;
    /// <summary>linux/udp.h: socket option enabling GRO; on receive a cmsg carries the segment size (int).</summary>
    internal const int UDP_GRO = 104;
    internal const int IPPROTO_IPV6 = 41;
    internal const int IP_PKTINFO = 8;
    internal const int IPV6_V6ONLY = 26;
    internal const int IPV6_RECVPKTINFO = 49;
    internal const int IPV6_PKTINFO = 50;

    internal const int MSG_TRUNC = 0x20;
    internal const int MSG_DONTWAIT = 0x40;

    internal const int SHUT_RDWR = 2;

    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        internal void* Base;
        internal nuint Length;
    }

    /// <summary>struct msghdr: 56 bytes on LP64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        internal void* Name;
        internal uint NameLength;
        internal IoVec* Iov;
        internal nuint IovLength;
        internal void* Control;
        internal nuint ControlLength;
        internal int Flags;
    }

    /// <summary>struct mmsghdr: 64 bytes on LP64.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct MMsgHdr
    {
        internal MsgHdr Header;
        internal uint Length;
    }

    /// <summary>struct cmsghdr; data follows at <see cref="HeaderSize"/>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct CMsgHdr
    {
        internal nuint Length;
        internal int Level;
        internal int Type;

        internal const int HeaderSize = 16;
        internal static int Space(int dataLength) => HeaderSize + ((dataLength + 7) & ~7);
        internal static int Len(int dataLength) => HeaderSize + dataLength;
    }

    /// <summary>struct sockaddr_in (16 bytes); port and address in network order.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct SockAddrIn
    {
        internal ushort Family;
        internal ushort Port;
        internal uint Address;
        internal ulong Zero;
    }

    /// <summary>struct sockaddr_in6 (28 bytes); port in network order.</summary>
    /// <remarks>Addresses are byte arrays, never UInt128: .NET aligns UInt128 to 16 bytes, C's in6_addr to 4.</remarks>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct SockAddrIn6
    {
        internal ushort Family;
        internal ushort Port;
        internal uint FlowInfo;
        internal fixed byte Address[16];
        internal uint ScopeId;
    }

    /// <summary>struct in_pktinfo (12 bytes): arrival interface, local address, header destination.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct InPktInfo
    {
        internal int IfIndex;
        internal uint SpecificDestination;
        internal uint Address;
    }

    /// <summary>struct in6_pktinfo (20 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct In6PktInfo
    {
        internal fixed byte Address[16];
        internal int IfIndex;
    }

    [LibraryImport(Libc.Library, EntryPoint = "socket", SetLastError = true)]
    internal static partial int Create(int domain, int type, int protocol);

    [LibraryImport(Libc.Library, EntryPoint = "bind", SetLastError = true)]
    internal static partial int Bind(int fd, void* address, uint addressLength);

    [LibraryImport(Libc.Library, EntryPoint = "getsockname", SetLastError = true)]
    internal static partial int GetSockName(int fd, void* address, uint* addressLength);

    [LibraryImport(Libc.Library, EntryPoint = "setsockopt", SetLastError = true)]
    internal static partial int SetOption(int fd, int level, int name, void* value, uint valueLength);

    [LibraryImport(Libc.Library, EntryPoint = "getsockopt", SetLastError = true)]
    internal static partial int GetOption(int fd, int level, int name, void* value, uint* valueLength);

    [LibraryImport(Libc.Library, EntryPoint = "recvmmsg", SetLastError = true)]
    internal static partial int ReceiveMessages(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport(Libc.Library, EntryPoint = "sendmmsg", SetLastError = true)]
    internal static partial int SendMessages(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport(Libc.Library, EntryPoint = "sendto", SetLastError = true)]
    internal static partial nint SendTo(int fd, void* buffer, nuint length, int flags, void* address, uint addressLength);

    [LibraryImport(Libc.Library, EntryPoint = "recv", SetLastError = true)]
    internal static partial nint Receive(int fd, void* buffer, nuint length, int flags);

    [LibraryImport(Libc.Library, EntryPoint = "shutdown", SetLastError = true)]
    internal static partial int Shutdown(int fd, int how);

    internal static int SetInt(int fd, int level, int name, int value)
        => SetOption(fd, level, name, &value, sizeof(int));

    internal static int GetInt(int fd, int level, int name, out int value)
    {
        int v = 0;
        uint length = sizeof(int);
        int rc = GetOption(fd, level, name, &v, &length);
        value = v;
        return rc;
    }
}
