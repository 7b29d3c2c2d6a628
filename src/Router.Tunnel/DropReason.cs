namespace Router.Tunnel;

/// <summary>Why a packet was dropped; exported as metrics, one counter per reason, per device and per peer.</summary>
public enum DropReason
{
    /// <summary>Shorter than any message, or than the transport minimum.</summary>
    TooShort,
    /// <summary>Type byte not 1..4, or nonzero reserved bytes.</summary>
    UnknownType,
    /// <summary>A handshake or cookie message of the wrong length.</summary>
    BadSize,
    BadMac1,
    /// <summary>Under load without a valid mac2: answered with a cookie reply instead.</summary>
    CookieRequired,
    UnknownIndex,
    ReplayedCounter,
    DecryptFailed,
    /// <summary>Handshake message that failed to decrypt or authenticate (bad static key, timestamp, state).</summary>
    HandshakeFailed,
    /// <summary>Initiation whose timestamp is not newer than the last accepted one, or within the 20 ms flood guard.</summary>
    HandshakeReplay,
    KeypairExpired,
    AllowedIpsMismatch,
    /// <summary>No peer for the inner destination, unknown static key, or peer without endpoint.</summary>
    NoPeer,
    RateLimited,
    /// <summary>Inner packet is not IPv4/IPv6 or its header is inconsistent.</summary>
    InvalidInnerPacket,
    /// <summary>Inner packet longer than the MTU allows.</summary>
    TooLong,
    /// <summary>Staged packets dropped: queue full, or handshake given up.</summary>
    StagedOverflow,
    /// <summary>Cookie reply that matches no handshake or fails to decrypt.</summary>
    BadCookieReply,
    /// <summary>The interface is down: nothing is sent or accepted, and what was staged is dropped.</summary>
    InterfaceDown,
    /// <summary>The crypto pipeline was full: the read was dropped so that queues stay short and TCP backs off.</summary>
    QueueFull,
    /// <summary>
    /// Shed at the handshake queue: a handshake with valid mac1 and mac2 found it full, its reserve included, or a
    /// cookie reply found it at the reserve.
    /// </summary>
    HandshakeQueueFull,
    /// <summary>Under load without a valid mac2, from a source that already had its share of cookie replies (20/s, burst 5).</summary>
    CookieReplyLimited,
    /// <summary>
    /// Lost at the UDP socket before routerd read it: the socket's receive buffer was full (routerd fell behind the
    /// wire), or the datagram was corrupt or too large. Device-wide, counted by the kernel (SO_MEMINFO) and the bind.
    /// </summary>
    UdpReceive,
    /// <summary>A decrypted packet the TUN refused (write failed). Device-wide.</summary>
    TunWrite,
    /// <summary>An encrypted packet the UDP socket refused (send failed). Device-wide.</summary>
    UdpSend,
}

/// <summary>Thread-safe counters, one per <see cref="DropReason"/>.</summary>
public sealed class DropCounters
{
    /// <summary>How many reasons there are (the length <see cref="CopyTo"/> needs).</summary>
    public const int Count = (int)DropReason.UdpSend + 1;

    private readonly long[] _counts = new long[Count];

    /// <summary>Copies every counter, indexed by <see cref="DropReason"/>, for a metrics scrape.</summary>
    public void CopyTo(Span<long> destination)
    {
        for (int i = 0; i < _counts.Length; i++)
            destination[i] = Volatile.Read(ref _counts[i]);
    }

    public void Increment(DropReason reason) => Interlocked.Increment(ref _counts[(int)reason]);

    public long this[DropReason reason] => Volatile.Read(ref _counts[(int)reason]);

    public long Total
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _counts.Length; i++)
                sum += Volatile.Read(ref _counts[i]);
            return sum;
        }
    }
}
