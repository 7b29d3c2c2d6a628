using Router.Tunnel.IO;

namespace Router.Tunnel;

/// <summary>
/// Handshake messages whose mac1 was valid, and cookie replies, waiting for the handshake worker (kernel
/// handshake_queue, wireguard-go queue.handshake). The depth of its handshakes is the backlog of handshake work, and
/// that backlog is what "under load" means: a stream of messages the device keeps up with never builds one, whatever
/// its rate, and a message without a valid mac1 never gets in. A fixed ring of preallocated buffers sized for an
/// initiation: nothing allocates per message.
/// </summary>
/// <remarks>Guarded by the device's handshake lock; the head slot is the worker's until <see cref="RemoveHead"/>.</remarks>
internal sealed class HandshakeQueue
{
    private readonly PacketBuffer[] _slots;
    private readonly bool[] _counted;
    private int _head, _count, _load;

    public HandshakeQueue(int capacity)
    {
        _slots = new PacketBuffer[capacity];
        _counted = new bool[capacity];
        for (int i = 0; i < capacity; i++)
            _slots[i] = new PacketBuffer(ProtocolConstants.InitiationSize);
    }

    public int Capacity => _slots.Length;

    /// <summary>Messages waiting, the one being worked on included (it is only removed once done).</summary>
    public int Count => _count;

    /// <summary>Messages waiting that count as load: handshakes (mac1 checked), not cookie replies.</summary>
    public int Load => _load;

    /// <summary>
    /// Copies a message and its source in, counted in <see cref="Load"/> when <paramref name="counts"/>; false when
    /// the queue is full (the caller counts the drop).
    /// </summary>
    public bool TryEnqueue(PacketBuffer datagram, bool counts)
    {
        if (_count == _slots.Length || datagram.Length > ProtocolConstants.InitiationSize)
            return false;
        int at = (_head + _count) % _slots.Length;
        PacketBuffer slot = _slots[at];
        _counted[at] = counts;
        _load += counts ? 1 : 0;
        slot.Reset();
        datagram.Payload.CopyTo(slot.Data.AsSpan(PacketBuffer.Headroom));
        slot.Length = datagram.Length;
        slot.Endpoint = datagram.Endpoint;
        _count++;
        return true;
    }

    /// <summary>The oldest message, left in place until <see cref="RemoveHead"/>; null when empty.</summary>
    public PacketBuffer? Peek() => _count == 0 ? null : _slots[_head];

    public void RemoveHead()
    {
        _load -= _counted[_head] ? 1 : 0;
        _head = (_head + 1) % _slots.Length;
        _count--;
    }

    public void Clear()
    {
        for (int i = 0; i < _slots.Length; i++)
            _slots[i].Data.AsSpan().Clear();
        _head = _count = _load = 0;
    }
}
