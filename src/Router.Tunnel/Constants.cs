namespace Router.Tunnel;

/// <summary>
/// Values fixed by the WireGuard protocol (whitepaper section 6; timers.c / constants.go). Changing any of these
/// breaks interoperability with stock peers.
/// </summary>
internal static class ProtocolConstants
{
    public const ulong RekeyAfterMessages = 1UL << 60;
    /// <summary>Kernel value: U64_MAX - replay window - 1, so the replay window never wraps.</summary>
    public const ulong RejectAfterMessages = ulong.MaxValue - ReplayWindow.WindowSize - 1;

    public static readonly TimeSpan RekeyAfterTime = TimeSpan.FromSeconds(120);
    public static readonly TimeSpan RejectAfterTime = TimeSpan.FromSeconds(180);
    public static readonly TimeSpan RekeyAttemptTime = TimeSpan.FromSeconds(90);
    public static readonly TimeSpan RekeyTimeout = TimeSpan.FromSeconds(5);
    /// <summary>Upper bound of the random jitter added to each retransmission of an initiation.</summary>
    public static readonly TimeSpan RekeyTimeoutJitterMax = TimeSpan.FromMilliseconds(334);
    public static readonly TimeSpan KeepaliveTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan CookieRefreshTime = TimeSpan.FromSeconds(120);
    /// <summary>The kernel stops using a received cookie a little before the responder rotates its secret.</summary>
    public static readonly TimeSpan CookieUseTime = CookieRefreshTime - TimeSpan.FromSeconds(5);
    /// <summary>Minimum gap between two accepted initiations from one peer (kernel: 50 per second).</summary>
    public static readonly TimeSpan HandshakeInitiationRate = TimeSpan.FromMilliseconds(20);
    public const int MaxTimerHandshakes = 90 / 5;

    public const int KeySize = 32;             // Curve25519 keys, chaining key, hash
    public const int TagSize = 16;             // Poly1305
    public const int CookieSize = 16;          // BLAKE2s-128
    public const int MacSize = 16;             // mac1, mac2
    public const int TimestampSize = 12;       // TAI64N
    public const int CookieNonceSize = 24;     // XChaCha20
    public const int PaddingMultiple = 16;

    // Wire sizes (PROTOCOL.md table).
    public const int InitiationSize = 148;     // 4 type + 4 sender + 32 eph + 48 static + 28 timestamp + 16 mac1 + 16 mac2
    public const int ResponseSize = 92;        // 4 type + 4 sender + 4 receiver + 32 eph + 16 empty + 16 mac1 + 16 mac2
    public const int CookieReplySize = 64;     // 4 type + 4 receiver + 24 nonce + 32 enc cookie
    public const int TransportHeaderSize = 16; // 4 type + 4 receiver + 8 counter
    public const int KeepaliveSize = TransportHeaderSize + TagSize; // 32: the smallest transport message
}

/// <summary>Choices of this implementation, free to tune without breaking the protocol.</summary>
internal static class ImplementationConstants
{
    /// <summary>Handshake messages (valid mac1) waiting for the Noise work, at most (wireguard-go: 1024; kernel: 4096).</summary>
    public const int HandshakeQueueSize = 1024;
    /// <summary>Queue depth from which the device is under load and demands cookies (both references: 1/8 of the queue).</summary>
    public const int UnderLoadQueueDepth = HandshakeQueueSize / 8;
    /// <summary>How long the device stays "under load" after the last time the depth was reached.</summary>
    public static readonly TimeSpan UnderLoadAfterTime = TimeSpan.FromSeconds(1);
    /// <summary>Per-source rate limit for handshakes carrying a valid mac2 while under load.</summary>
    public const int RateLimiterPacketsPerSecond = 20;
    public const int RateLimiterBurst = 5;
    /// <summary>Entries idle this long are dropped from the rate limiter.</summary>
    public static readonly TimeSpan RateLimiterGcInterval = TimeSpan.FromSeconds(1);
    public const int RateLimiterMaxEntries = 8192;
    /// <summary>Packets held per peer while a handshake is in progress (kernel: MAX_STAGED_PACKETS).</summary>
    public const int MaxStagedPackets = 128;
    public const int DefaultMtu = 1420;
    /// <summary>Timers are checked at least this often in threaded mode.</summary>
    public static readonly TimeSpan TimerResolution = TimeSpan.FromMilliseconds(100);
}
