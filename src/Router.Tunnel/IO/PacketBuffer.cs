namespace Router.Tunnel.IO;

/// <summary>
/// One packet in a fixed-size buffer with room in front of it, so the 16-byte transport header is written in
/// place before the IP packet and the tag after it: encryption never copies. Buffers are pooled and reused;
/// nothing on the packet path allocates one.
/// </summary>
/// <remarks>Not thread-safe: a buffer belongs to exactly one stage of the pipeline at a time.</remarks>
public sealed class PacketBuffer
{
    /// <summary>Room before the payload: the transport header (16) plus space for a virtio-net header (12), rounded up.</summary>
    public const int Headroom = 32;

    /// <summary>Room after the payload: the Poly1305 tag plus padding to a multiple of 16.</summary>
    public const int Tailroom = 32;

    /// <summary>The largest IP packet a TUN device delivers (its MTU can be raised to 65535).</summary>
    public const int MaxPayload = 65535;

    /// <summary>The whole buffer: Headroom + <see cref="Capacity"/> + Tailroom bytes, on the pinned heap.</summary>
    public readonly byte[] Data;

    /// <summary>A buffer for the largest IP packet (<see cref="MaxPayload"/>).</summary>
    public PacketBuffer()
        : this(MaxPayload)
    {
    }

    /// <summary>A buffer for payloads up to <paramref name="capacity"/> bytes (pools size them by MTU to keep RSS small).</summary>
    public PacketBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, MaxPayload);
        Data = GC.AllocateUninitializedArray<byte>(Headroom + capacity + Tailroom, pinned: true);
    }

    /// <summary>The largest payload this buffer holds at <see cref="Headroom"/>.</summary>
    public int Capacity => Data.Length - Headroom - Tailroom;

    /// <summary>Where the payload starts in <see cref="Data"/>.</summary>
    public int Offset = Headroom;

    /// <summary>How many bytes of payload there are.</summary>
    public int Length;

    /// <summary>For a datagram: its remote endpoint (source when received, destination when sent).</summary>
    public Endpoint Endpoint;

    /// <summary>The payload.</summary>
    public Span<byte> Payload => Data.AsSpan(Offset, Length);

    /// <summary>Puts the payload back at the standard offset with no content.</summary>
    public void Reset()
    {
        Offset = Headroom;
        Length = 0;
        Endpoint = default;
    }
}
