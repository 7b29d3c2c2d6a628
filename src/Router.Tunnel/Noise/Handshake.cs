using Router.Crypto;

namespace Router.Tunnel.Noise;

/// <summary>Where a peer's handshake stands (kernel enum noise_handshake_state).</summary>
internal enum HandshakeState
{
    Zeroed,
    CreatedInitiation,
    ConsumedInitiation,
    CreatedResponse,
    ConsumedResponse,
}

/// <summary>
/// The Noise IKpsk2 state of one peer (whitepaper 5.4): the running hash and chaining key between messages, the
/// ephemeral keys, and what survives a completed handshake (remote static, pre-shared key, precomputed static-static
/// DH, latest timestamp for replay protection).
/// </summary>
/// <remarks>Guarded by the device lock. Secrets are cleared by <see cref="Clear"/> whenever a handshake ends.</remarks>
internal sealed class Handshake
{
    public HandshakeState State;
    public Key32 Hash;
    public Key32 ChainingKey;
    public Key32 LocalEphemeralPrivate;
    public Key32 RemoteEphemeral;
    /// <summary>The index we chose for this handshake (0 when none is registered).</summary>
    public uint LocalIndex;
    public uint RemoteIndex;

    // Survive a completed handshake.
    public Key32 RemoteStatic;
    public Key32 PresharedKey;
    /// <summary>DH(our static, their static); all zero when that DH failed (low-order remote key).</summary>
    public Key32 PrecomputedStaticStatic;
    /// <summary>HASH(H0 || their static key): the initial hash of initiations we send to this peer.</summary>
    public Key32 InitialHash;
    /// <summary>Newest TAI64N timestamp accepted from this peer (replay protection for initiations).</summary>
    public Bytes12 LatestTimestamp;
    /// <summary>Monotonic ticks of the last initiation we accepted (flood guard); 0 = never.</summary>
    public long LastInitiationConsumed;
    /// <summary>Monotonic ticks of the last initiation we sent (one per REKEY_TIMEOUT); 0 = never.</summary>
    public long LastSentInitiation;

    public bool HasPresharedKey => !PresharedKey.IsZero;

    /// <summary>Forgets the in-progress handshake (not the peer's identity or its replay state).</summary>
    public void Clear()
    {
        State = HandshakeState.Zeroed;
        Hash.Clear();
        ChainingKey.Clear();
        LocalEphemeralPrivate.Clear();
        RemoteEphemeral.Clear();
        LocalIndex = 0;
        RemoteIndex = 0;
    }

    /// <summary>Clears everything secret, for peer removal.</summary>
    public void Destroy()
    {
        Clear();
        PresharedKey.Clear();
        PrecomputedStaticStatic.Clear();
    }
}
