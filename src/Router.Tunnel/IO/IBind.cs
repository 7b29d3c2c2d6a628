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

    /// <summary>Sends each buffer's payload to its <see cref="PacketBuffer.Endpoint"/>. Errors are counted, not thrown.</summary>
    void Send(ReadOnlySpan<PacketBuffer> packets);
}
