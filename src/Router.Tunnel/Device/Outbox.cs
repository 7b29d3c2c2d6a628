using Router.Tunnel.IO;

namespace Router.Tunnel;

/// <summary>
/// What one pass of the device produced: datagrams for the bind, IP packets for the TUN, and pooled buffers to
/// return once both are written. Filled under the device lock, flushed after it is released, so slow I/O never
/// holds the lock. Each calling thread (TUN, UDP, timer, configuration) owns one.
/// </summary>
/// <remarks>Not thread-safe. Grows only when a pass produces more than ever before.</remarks>
internal sealed class Outbox
{
    private PacketBuffer[] _datagrams = new PacketBuffer[64];
    private PacketBuffer[] _tunPackets = new PacketBuffer[64];
    private PacketBuffer[] _owned = new PacketBuffer[64];
    private int _datagramCount, _tunCount, _ownedCount;

    public bool IsEmpty => _datagramCount == 0 && _tunCount == 0 && _ownedCount == 0;

    public void Send(PacketBuffer datagram) => Append(ref _datagrams, ref _datagramCount, datagram);

    public void Deliver(PacketBuffer ipPacket) => Append(ref _tunPackets, ref _tunCount, ipPacket);

    /// <summary>Returns <paramref name="pooled"/> to the pool after the flush.</summary>
    public void Own(PacketBuffer pooled) => Append(ref _owned, ref _ownedCount, pooled);

    public void Flush(IBind? bind, ITun tun, PacketPool pool)
    {
        if (_datagramCount > 0 && bind is not null)
            WriteInBatches(bind, _datagrams.AsSpan(0, _datagramCount));
        if (_tunCount > 0)
            WriteInBatches(tun, _tunPackets.AsSpan(0, _tunCount));
        for (int i = 0; i < _ownedCount; i++)
            pool.Return(_owned[i]);
        _datagrams.AsSpan(0, _datagramCount).Clear();
        _tunPackets.AsSpan(0, _tunCount).Clear();
        _owned.AsSpan(0, _ownedCount).Clear();
        _datagramCount = _tunCount = _ownedCount = 0;
    }

    private static void WriteInBatches(IBind bind, ReadOnlySpan<PacketBuffer> packets)
    {
        int batch = Math.Max(1, bind.BatchSize);
        for (int i = 0; i < packets.Length; i += batch)
            bind.Send(packets.Slice(i, Math.Min(batch, packets.Length - i)));
    }

    private static void WriteInBatches(ITun tun, ReadOnlySpan<PacketBuffer> packets)
    {
        int batch = Math.Max(1, tun.BatchSize);
        for (int i = 0; i < packets.Length; i += batch)
            tun.Write(packets.Slice(i, Math.Min(batch, packets.Length - i)));
    }

    private static void Append(ref PacketBuffer[] array, ref int count, PacketBuffer item)
    {
        if (count == array.Length)
            Array.Resize(ref array, array.Length * 2);
        array[count++] = item;
    }
}
