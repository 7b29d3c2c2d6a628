using static Router.Linux.Interop.Socket;

namespace Router.Linux;

/// <summary>
/// UDP segmentation offloads (Linux 4.18+ for GSO, 5.0+ for GRO): one send call carries up to 64 equal-sized
/// datagrams to one destination (UDP_SEGMENT), and the receive path hands over same-flow datagrams coalesced into
/// one "super-datagram" plus its segment size (UDP_GRO). Both save a trip through the stack per datagram.
/// </summary>
internal static class UdpOffload
{
    /// <summary>The kernel's UDP_MAX_SEGMENTS: a GSO send with more segments fails (EMSGSIZE/EINVAL).</summary>
    public const int MaxSegments = 64;

    /// <summary>Largest UDP payload of one IPv4 send: 65535 - IPv4 header (20) - UDP header (8).</summary>
    public const int MaxIPv4Payload = 65535 - 20 - 8;

    /// <summary>Largest UDP payload of one IPv6 send: the 16-bit payload length covers the UDP header only.</summary>
    public const int MaxIPv6Payload = 65535 - 8;

    /// <summary>A coalesced datagram is at most one maximal UDP payload; a buffer this large never truncates one.</summary>
    public const int MaxCoalesced = 65536;

    /// <summary>Control space of the UDP_SEGMENT cmsg (a u16, padded).</summary>
    public static int SegmentControlSpace => CMsgHdr.Space(sizeof(ushort));

    /// <summary>Whether UDP_SEGMENT is known on this socket (reading the option fails with ENOPROTOOPT otherwise).</summary>
    public static bool ProbeGso(int fd) => GetInt(fd, SOL_UDP, UDP_SEGMENT, out _) == 0;

    /// <summary>Turns on GRO for the socket; false when the kernel does not know it.</summary>
    public static bool EnableGro(int fd) => SetInt(fd, SOL_UDP, UDP_GRO, 1) == 0;

    /// <summary>On unless ROUTERD_UDP_OFFLOAD=0 (to measure or rule out the offloads).</summary>
    public static bool WantedByDefault => Environment.GetEnvironmentVariable("ROUTERD_UDP_OFFLOAD") != "0";
}
