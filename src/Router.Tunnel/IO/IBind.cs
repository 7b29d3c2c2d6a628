namespace Router.Tunnel.IO;

/// <summary>
/// The outer side of the tunnel: UDP sockets (IPv4 and IPv6 at once, or an in-memory fake) that move WireGuard
/// messages in batches. Implementations live at the platform edge (Router.Linux.UdpBind) and in tests.
/// </summary>
/// <remarks>One thread receives, any number of threads send.</remarks>
public interface IBind : IDisposable
{
    /// <summary>The local UDP port actually bound (the configured one, or the kernel's choice for 0).</summary>
    ushort Port { get; }

    /// <summary>The most datagrams one <see cref="Receive"/> or <see cref="Send"/> call handles.</summary>
    int BatchSize { get; }

    /// <summary>
    /// Blocks until at least one datagram arrives, then fills up to <c>packets.Length</c> buffers (payload at
    /// <see cref="PacketBuffer.Offset"/>, <see cref="PacketBuffer.Endpoint"/> = source, with the local address it
    /// arrived on) and returns how many. Returns 0 once the bind is closed.
    /// </summary>
    int Receive(Span<PacketBuffer> packets);

    /// <summary>
    /// Sends each buffer's payload to its <see cref="PacketBuffer.Endpoint"/> and returns how many the kernel took.
    /// Errors are counted, not thrown. <paramref name="sent"/> is empty (the caller does not care which failed) or
    /// at least <c>packets.Length</c> long, and then says for each packet whether it went out: the device counts
    /// tx bytes only for those, as the kernel counts only what its send accepted.
    /// </summary>
    int Send(ReadOnlySpan<PacketBuffer> packets, Span<bool> sent);

    /// <summary>
    /// Datagrams lost on the way in before <see cref="Receive"/> could return them, since the bind opened: dropped by
    /// the kernel at the socket (its receive buffer full, a bad checksum) or larger than a buffer. Read for
    /// statistics (metrics, logs), never on the packet path. 0 for binds that lose nothing.
    /// </summary>
    long ReceiveDrops => 0;

    /// <summary>Datagrams the kernel refused to send (ENOBUFS, EPERM from a firewall, ...), since the bind opened.</summary>
    long SendDrops => 0;
}
