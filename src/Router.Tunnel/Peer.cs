using Router.Tunnel.Cookies;
using Router.Tunnel.IO;
using Router.Tunnel.Noise;

namespace Router.Tunnel;

/// <summary>
/// One remote WireGuard peer: its identity, handshake, keypairs, endpoint, staged packets, timers and counters.
/// </summary>
/// <remarks>Every field is guarded by the owning device's lock, except the drop counters (atomic).</remarks>
internal sealed class Peer
{
    public readonly PublicKey PublicKey;
    public readonly Handshake Handshake = new();
    public readonly Keypairs Keypairs = new();
    public readonly CookieGenerator Cookies;
    public readonly DropCounters Drops = new();

    /// <summary>Where we send: the configured endpoint, then the source of the latest authenticated packet.</summary>
    public Endpoint Endpoint;
    /// <summary>Seconds between keepalives; 0 = off.</summary>
    public ushort PersistentKeepaliveInterval;

    /// <summary>IP packets waiting for a session (pooled buffers, oldest first).</summary>
    public readonly Queue<PacketBuffer> Staged = new();
    /// <summary>Already listed for a flush of staged packets at the end of the current TUN pass.</summary>
    public bool InStagedList;

    // Counters for wg show and metrics: WireGuard message bytes, as the kernel counts them.
    public long RxBytes, TxBytes;
    /// <summary>Wall-clock time of the last completed handshake, for wg show; null = never.</summary>
    public DateTime? LastHandshake;
    public long LastReceive, LastSend; // monotonic ticks, 0 = never

    // Timers (kernel timers.c): deadline in monotonic ticks, 0 = not pending.
    public long RetransmitHandshakeAt, SendKeepaliveAt, NewHandshakeAt, ZeroKeyMaterialAt, PersistentKeepaliveAt;
    /// <summary>Initiations sent since the last completed handshake.</summary>
    public int HandshakeAttempts;
    // Totals for metrics (issue 16): they only grow while the peer exists.
    /// <summary>Handshake initiations sent.</summary>
    public long InitiationsSent;
    /// <summary>Handshakes completed (as initiator: response consumed; as responder: first data on the session).</summary>
    public long HandshakesCompleted;
    /// <summary>Initiations that got no usable response within REKEY_TIMEOUT (each retry, and the give-up, counts one).</summary>
    public long HandshakeTimeouts;
    public bool NeedAnotherKeepalive;
    public bool SentLastMinuteHandshake;

    public Peer(PublicKey publicKey, IClock clock)
    {
        PublicKey = publicKey;
        Cookies = new CookieGenerator(clock);
        publicKey.CopyTo(Handshake.RemoteStatic);
        Cookies.SetRemotePublicKey(Handshake.RemoteStatic);
    }

    /// <summary>Drops the in-progress handshake and its index (keeps identity, timestamps and keypairs).</summary>
    public void ForgetHandshake(IndexTable indices)
    {
        if (Handshake.LocalIndex != 0)
            indices.Remove(Handshake.LocalIndex);
        Handshake.Clear();
    }

    public void CountDrop(DropReason reason, DropCounters device)
    {
        Drops.Increment(reason);
        device.Increment(reason);
    }
}

/// <summary>Peers keyed by public key, plus the index table that names their handshakes and keypairs.</summary>
/// <remarks>Guarded by the device lock.</remarks>
internal sealed class PeerTable
{
    private readonly Dictionary<PublicKey, Peer> _peers = new();

    public readonly IndexTable Indices = new();

    public int Count => _peers.Count;

    public Dictionary<PublicKey, Peer>.ValueCollection All => _peers.Values;

    public Peer? Find(ReadOnlySpan<byte> publicKey) => _peers.GetValueOrDefault(new PublicKey(publicKey));

    public Peer? Find(PublicKey publicKey) => _peers.GetValueOrDefault(publicKey);

    public void Add(Peer peer) => _peers.Add(peer.PublicKey, peer);

    public bool Remove(PublicKey publicKey) => _peers.Remove(publicKey);
}
