namespace Router.Tunnel;

// Interface up and down (kernel device.c wg_open/wg_stop; wireguard-go Device.Up/Down). An interface that is
// administratively down starts nothing: no initiation, no keepalive, no data, and its timers stand still. Going down
// forgets every session and timer (as wg_stop clears keypairs and handshakes), so going up starts afresh: a peer
// with a persistent keepalive handshakes at once, the others when the first packet for them arrives.
// Unlike the kernel, which closes its socket, a down device still answers a peer's initiation: wireguard-go 2022
// initiates while its own link is down, so two ends brought up one after the other would otherwise lose the first
// handshake and wait out REKEY_TIMEOUT (the NAT interop test does exactly that). Answering starts nothing new.
public sealed partial class Device
{
    // Guarded by _lock. A device starts up, so one driven without a link (tests, benchmarks) just works; the daemon
    // sets it from the TUN link's real state before it starts and then follows the link's up/down notifications.
    private bool _isUp = true;
    // Used only by SetUp, which the link-monitor thread calls: never shared with the other entry points.
    private readonly Outbox _linkOutbox = new();

    /// <summary>
    /// Asks the platform whether the link is up now. Link notifications arrive late: the first packets read from the
    /// TUN can come just after `ip link set up` and before the notification; with a probe the device catches up
    /// instead of dropping them. Called only while the device is down.
    /// </summary>
    public Func<bool>? LinkProbe { get; init; }

    /// <summary>Whether the interface is up (the device then runs handshakes and timers).</summary>
    public bool IsUp
    {
        get
        {
            lock (_lock)
                return _isUp;
        }
    }

    /// <summary>
    /// Follows the interface's administrative state. Down: every peer's staged packets, timers and sessions are
    /// dropped, and nothing is started (only a peer's initiation is answered) until it is up again. Up: peers with a
    /// persistent keepalive start a handshake now. Repeating the current state does nothing. Thread-safe.
    /// </summary>
    public void SetUp(bool up)
    {
        Outbox outbox = _linkOutbox;
        lock (_linkOutbox) // one link-state change at a time: the outbox is not thread-safe
        {
            lock (_lock)
            {
                if (_isUp == up)
                    return;
                _isUp = up;
                long now = _clock.Now;
                foreach (Peer peer in _peers.All)
                {
                    if (!up)
                        StopPeer(peer);
                    else if (peer.PersistentKeepaliveInterval != 0)
                        SendKeepalive(peer, now, outbox); // no session yet: this starts the handshake (kernel wg_open)
                }
            }
            Flush(outbox);
        }
    }

    /// <summary>Before a pass that would find the device down: goes up if the link already is. Call without the lock.</summary>
    private void CatchUpWithLink()
    {
        if (!Volatile.Read(ref _isUp) && LinkProbe is { } probe && probe())
            SetUp(true);
    }

    /// <summary>What the kernel's wg_stop does to a peer: staged packets, timers and keys go. Needs the lock.</summary>
    private void StopPeer(Peer peer)
    {
        PurgeStaged(peer, DropReason.InterfaceDown);
        peer.RetransmitHandshakeAt = peer.SendKeepaliveAt = peer.NewHandshakeAt = 0;
        peer.ZeroKeyMaterialAt = peer.PersistentKeepaliveAt = 0;
        peer.HandshakeAttempts = 0;
        peer.NeedAnotherKeepalive = false;
        peer.SentLastMinuteHandshake = false;
        peer.Keypairs.Clear(_peers.Indices);
        peer.ForgetHandshake(_peers.Indices);
        peer.Handshake.LastSentInitiation = 0; // the first initiation after up must not wait out REKEY_TIMEOUT
    }
}
