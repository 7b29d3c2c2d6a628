namespace Router.Tunnel.IO;

/// <summary>
/// The inner side of the tunnel: a TUN device (or an in-memory fake) that delivers and accepts whole IP packets
/// in batches. Implementations live at the platform edge (Router.Linux.Tun) and in tests.
/// </summary>
/// <remarks>
/// One thread reads, any number of threads write (writes of one batch are not interleaved with another's).
/// </remarks>
public interface ITun : IDisposable
{
    /// <summary>The interface MTU now; it can change while the device runs (inner packets up to it are carried).</summary>
    int Mtu { get; }

    /// <summary>The most packets one <see cref="Read"/> or <see cref="Write"/> call handles.</summary>
    int BatchSize { get; }

    /// <summary>
    /// Blocks until at least one IP packet is available, then fills up to <c>packets.Length</c> buffers (each packet
    /// at <see cref="PacketBuffer.Offset"/> = <see cref="PacketBuffer.Headroom"/>) and returns how many.
    /// Returns 0 once the device is closed or deleted. A packet larger than its buffer (the MTU grew after the buffers
    /// were sized) may be delivered in a larger buffer the implementation puts into <paramref name="packets"/>.
    /// </summary>
    int Read(Span<PacketBuffer> packets);

    /// <summary>Writes each buffer's payload as one IP packet. Errors are counted by the implementation, not thrown.</summary>
    void Write(ReadOnlySpan<PacketBuffer> packets);

    /// <summary>
    /// Packets <see cref="Write"/> could not hand to the kernel (each packet counts, also inside a coalesced
    /// super-packet), since the TUN opened. Read for statistics, never on the packet path.
    /// </summary>
    long WriteDrops => 0;
}
