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
    // The peer whose tx bytes each datagram was counted to (null: counted to none, e.g. a cookie reply).
    private Peer?[] _datagramPeers = new Peer?[64];
    private PacketBuffer[] _tunPackets = new PacketBuffer[64];
    private PacketBuffer[] _owned = new PacketBuffer[64];
    private int _datagramCount, _tunCount, _ownedCount;

    public bool IsEmpty => _datagramCount == 0 && _tunCount == 0 && _ownedCount == 0;

    public void Send(PacketBuffer datagram, Peer? countedTo = null)
    {
        if (_datagramCount == _datagramPeers.Length)
            Array.Resize(ref _datagramPeers, _datagramPeers.Length * 2);
        _datagramPeers[_datagramCount] = countedTo;
        Append(ref _datagrams, ref _datagramCount, datagram);
    }

    public void Deliver(PacketBuffer ipPacket) => Append(ref _tunPackets, ref _tunCount, ipPacket);

    /// <summary>Returns <paramref name="pooled"/> to the pool after the flush.</summary>
    public void Own(PacketBuffer pooled) => Append(ref _owned, ref _ownedCount, pooled);

    /// <summary>Writes everything out; <paramref name="deviceLock"/> guards the tx counters of datagrams that failed.</summary>
    public void Flush(IBind? bind, ITun tun, PacketPool pool, Lock deviceLock)
    {
        if (_datagramCount > 0 && bind is not null)
            WriteInBatches(bind, _datagrams.AsSpan(0, _datagramCount), _datagramPeers.AsSpan(0, _datagramCount), deviceLock);
        if (_tunCount > 0)
            WriteInBatches(tun, _tunPackets.AsSpan(0, _tunCount));
        for (int i = 0; i < _ownedCount; i++)
            pool.Return(_owned[i]);
        _datagrams.AsSpan(0, _datagramCount).Clear();
        _datagramPeers.AsSpan(0, _datagramCount).Clear();
        _tunPackets.AsSpan(0, _tunCount).Clear();
        _owned.AsSpan(0, _ownedCount).Clear();
        _datagramCount = _tunCount = _ownedCount = 0;
    }

    private static void WriteInBatches(IBind bind, ReadOnlySpan<PacketBuffer> packets, ReadOnlySpan<Peer?> peers, Lock deviceLock)
    {
        int batch = Math.Min(Math.Max(1, bind.BatchSize), packets.Length);
        Span<bool> sent = batch <= 256 ? stackalloc bool[batch] : new bool[batch];
        for (int i = 0; i < packets.Length; i += batch)
        {
            int n = Math.Min(batch, packets.Length - i);
            if (bind.Send(packets.Slice(i, n), sent[..n]) < n)
                UncountUnsent(deviceLock, packets.Slice(i, n), peers.Slice(i, n), sent[..n]);
        }
    }

    /// <summary>
    /// Takes back the tx bytes counted (when the message was sealed) for datagrams the bind could not send: the kernel
    /// counts only what its send accepted. Rare, so it takes the device lock rather than making every count atomic.
    /// </summary>
    public static void UncountUnsent(Lock deviceLock, ReadOnlySpan<PacketBuffer> packets, ReadOnlySpan<Peer?> peers, ReadOnlySpan<bool> sent)
    {
        lock (deviceLock)
        {
            for (int i = 0; i < packets.Length; i++)
                if (!sent[i] && peers[i] is { } peer)
                    peer.TxBytes -= packets[i].Length;
        }
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
