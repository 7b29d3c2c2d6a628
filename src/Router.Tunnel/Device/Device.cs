using Router.Tunnel.Cookies;
using Router.Tunnel.IO;
using Router.Tunnel.Noise;
using Router.Tunnel.Routing;

namespace Router.Tunnel;

/// <summary>
/// A WireGuard interface: moves IP packets from an <see cref="ITun"/> to peers over an <see cref="IBind"/> and back,
/// running the handshakes, timers and cryptokey routing on the way.
/// </summary>
/// <remarks>
/// Two ways to drive it. Deterministically (tests, benchmarks): call <see cref="HandleTunPackets"/>,
/// <see cref="HandleDatagrams"/> and <see cref="Tick"/> yourself, with a <see cref="VirtualClock"/>. Threaded (the
/// daemon): <see cref="Start"/> runs a TUN-read thread, a UDP-receive thread, a timer thread and crypto workers until
/// <see cref="Stop"/>. Either way, each of the three entry points has at most one caller at a time.
/// All protocol state is guarded by one lock; I/O happens after it is released (see <see cref="Outbox"/>).
/// In threaded mode <see cref="Encrypt"/> and <see cref="Open"/> run outside the lock on crypto workers, each
/// holding a keypair reference, and in-order rings put the results back in read order (Device.Threads.cs).
/// </remarks>
public sealed partial class Device : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Lock _configLock = new();
    private readonly ITun _tun;
    private readonly Func<ushort, uint, IBind> _bindFactory;
    private readonly IClock _clock;
    private readonly NoiseProtocol _noise;
    // Guarded by _handshakeLock (Device.Handshakes.cs), like the queue and the load clock below.
    private readonly CookieChecker _cookieChecker;
    private readonly RateLimiter _rateLimiter;         // handshakes with a valid mac2, under load
    private readonly RateLimiter _cookieReplyLimiter;  // cookie replies we send, under load
    private readonly PeerTable _peers = new();
    private readonly AllowedIps<Peer> _allowedIps = new();
    private readonly PacketPool _pool = new();
    private readonly DropCounters _drops = new();

    // One outbox per entry point, so the TUN, UDP, timer and configuration paths never share one.
    private readonly Outbox _tunOutbox = new(), _udpOutbox = new(), _timerOutbox = new(), _configOutbox = new();
    // Peers that gained staged packets in the current TUN pass (reused list: no allocation per batch).
    private readonly List<Peer> _stagedPeers = new();

    private IBind? _bind;
    private ushort _listenPort;
    private uint _firewallMark;

    // Handshakes with a valid mac1 (and cookie replies) wait here for the handshake worker; the depth of its
    // handshakes says whether the device is under load.
    private readonly HandshakeQueue _handshakes = new(ImplementationConstants.HandshakeQueueSize);
    private long _lastUnderLoad;
    private bool _everUnderLoad;

    /// <summary>Handshake queue depth from which cookies are demanded (tests lower it).</summary>
    internal int UnderLoadQueueDepth = ImplementationConstants.UnderLoadQueueDepth;

    /// <summary>Creates a device; it binds on the first configuration with a listen port, or at <see cref="Start"/>.</summary>
    /// <param name="tun">The TUN side; the device owns it from now on (disposed by <see cref="Stop"/>).</param>
    /// <param name="bindFactory">Opens the UDP side for (listen port, fwmark); port 0 lets the system choose.</param>
    /// <param name="clock">Monotonic and wall time; <see cref="SystemClock"/> when null.</param>
    /// <param name="timestamps">TAI64N source for initiations; the clock's wall time when null.</param>
    public Device(ITun tun, Func<ushort, uint, IBind> bindFactory, IClock? clock = null, ITimestampSource? timestamps = null)
    {
        _tun = tun;
        _bindFactory = bindFactory;
        _clock = clock ?? SystemClock.Instance;
        _noise = new NoiseProtocol(_clock, timestamps ?? new ClockTimestampSource(_clock));
        _cookieChecker = new CookieChecker(_clock);
        _rateLimiter = new RateLimiter(_clock);
        _cookieReplyLimiter = new RateLimiter(_clock);
    }

    /// <summary>
    /// Packets the engine dropped, by reason (per-peer counts are in the snapshot). The TUN's and the sockets' own
    /// losses are not in here: <see cref="CopyDropsTo"/> gives every count.
    /// </summary>
    public DropCounters Drops => _drops;

    // Drops counted by binds a new listen port or mark replaced: kept, so that the totals never go back.
    private long _retiredReceiveDrops, _retiredSendDrops;

    /// <summary>
    /// Every drop, indexed by <see cref="DropReason"/> (<see cref="DropCounters.Count"/> long): the engine's own, plus
    /// what the UDP sockets lost before the engine saw it and what the TUN or the sockets refused to take.
    /// </summary>
    public void CopyDropsTo(Span<long> destination)
    {
        _drops.CopyTo(destination);
        IBind? bind = Volatile.Read(ref _bind);
        destination[(int)DropReason.UdpReceive] += Interlocked.Read(ref _retiredReceiveDrops) + (bind?.ReceiveDrops ?? 0);
        destination[(int)DropReason.UdpSend] += Interlocked.Read(ref _retiredSendDrops) + (bind?.SendDrops ?? 0);
        destination[(int)DropReason.TunWrite] += _tun.WriteDrops;
    }

    /// <summary>The UDP port actually bound; 0 before binding.</summary>
    public ushort ListenPort
    {
        get
        {
            lock (_lock)
                return _bind?.Port ?? 0;
        }
    }

    /// <summary>X25519 computations so far (DoS tests: a flood without mac1 must not move it).</summary>
    internal long DhComputations => _noise.DhComputations;

    /// <summary>Buffers the device's pool ever allocated (steady state must not add any).</summary>
    internal long PooledBuffersAllocated => _pool.Allocated;

    /// <summary>Whether handshakes currently need a cookie (tests may force it).</summary>
    internal bool ForceUnderLoad { get; set; }

    private int Mtu => _tun.Mtu > 0 ? _tun.Mtu : ImplementationConstants.DefaultMtu;

    private void Flush(Outbox outbox)
    {
        if (outbox.IsEmpty)
            return;
        outbox.Flush(Volatile.Read(ref _bind), _tun, _pool, _lock);
    }

    public void Dispose()
    {
        Stop();
        lock (_lock)
        {
            foreach (Peer peer in _peers.All)
                DestroyPeer(peer);
            _noise.SetPrivateKey(default);
            lock (_handshakeLock)
            {
                _cookieChecker.Clear();
                _handshakes.Clear();
            }
        }
    }

    /// <summary>Forgets everything secret about a peer and releases its staged packets. Needs the lock.</summary>
    private void DestroyPeer(Peer peer)
    {
        peer.Keypairs.Clear(_peers.Indices);
        peer.ForgetHandshake(_peers.Indices);
        peer.Handshake.Destroy();
        peer.Cookies.Clear();
        PurgeStaged(peer, DropReason.StagedOverflow);
        _allowedIps.RemoveByPeer(peer);
    }

    private void PurgeStaged(Peer peer, DropReason reason)
    {
        while (peer.Staged.TryDequeue(out PacketBuffer? buffer))
        {
            peer.CountDrop(reason, _drops);
            _pool.Return(buffer);
        }
    }
}
