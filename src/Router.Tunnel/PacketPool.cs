using Router.Tunnel.IO;

namespace Router.Tunnel;

/// <summary>
/// Reusable <see cref="PacketBuffer"/>s for packets the device creates or must hold (handshake messages,
/// keepalives, staged packets). Grows on demand up to a cap; steady state rents and returns without allocating.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class PacketPool(int maxPooled = 1024)
{
    private readonly Stack<PacketBuffer> _free = new();
    private readonly Lock _lock = new();
    private long _allocated;

    /// <summary>Buffers ever allocated (tests check steady state adds none).</summary>
    public long Allocated => Interlocked.Read(ref _allocated);

    public PacketBuffer Rent()
    {
        lock (_lock)
        {
            if (_free.TryPop(out PacketBuffer? buffer))
                return buffer;
        }
        Interlocked.Increment(ref _allocated);
        return new PacketBuffer();
    }

    public void Return(PacketBuffer buffer)
    {
        buffer.Reset();
        lock (_lock)
        {
            if (_free.Count < maxPooled)
                _free.Push(buffer);
        }
    }
}
