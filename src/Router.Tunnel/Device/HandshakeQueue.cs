using Router.Tunnel.IO;

namespace Router.Tunnel;

/// <summary>
/// Handshake messages whose mac1 was valid, waiting for the Noise work (kernel handshake_queue, wireguard-go
/// queue.handshake). Its depth is the backlog of handshake work, and that backlog is what "under load" means: a
/// stream of messages the device keeps up with never builds one, whatever its rate, and a message without a valid
/// mac1 never gets in. A fixed ring of preallocated buffers sized for an initiation: nothing allocates per message.
/// </summary>
/// <remarks>Guarded by the device lock.</remarks>
internal sealed class HandshakeQueue
{
    private readonly PacketBuffer[] _slots;
    private int _head, _count;

    public HandshakeQueue(int capacity)
    {
        _slots = new PacketBuffer[capacity];
        for (int i = 0; i < capacity; i++)
            _slots[i] = new PacketBuffer(ProtocolConstants.InitiationSize);
    }

    public int Capacity => _slots.Length;

    /// <summary>Messages waiting, the one being worked on included (it is only removed once done).</summary>
    public int Count => _count;

    /// <summary>Copies a handshake message and its source in; false when the queue is full (the caller counts the drop).</summary>
    public bool TryEnqueue(PacketBuffer datagram)
    {
        if (_count == _slots.Length || datagram.Length > ProtocolConstants.InitiationSize)
            return false;
        PacketBuffer slot = _slots[(_head + _count) % _slots.Length];
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
        _head = (_head + 1) % _slots.Length;
        _count--;
    }

    public void Clear()
    {
        for (int i = 0; i < _slots.Length; i++)
            _slots[i].Data.AsSpan().Clear();
        _head = _count = 0;
    }
}
