using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel;

// Timers (whitepaper 6; kernel timers.c). Each is a per-peer deadline in monotonic ticks, 0 when not pending;
// Tick() fires the ones that are due.
//
//   retransmit handshake  REKEY_TIMEOUT + jitter after an initiation; after MAX_TIMER_HANDSHAKES + 2 tries, give up
//   send keepalive        KEEPALIVE_TIMEOUT after receiving data, unless we sent something meanwhile
//   new handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after sending data, unless something came back
//   zero key material     3 * REJECT_AFTER_TIME after a session was derived
//   persistent keepalive  every N seconds of silence, when configured
public sealed partial class Device
{
    /// <summary>Fires due timers on every peer. Call at least every ~100 ms (threaded mode does).</summary>
    public void Tick()
    {
        Outbox outbox = _timerOutbox;
        lock (_lock)
        {
            if (!_isUp)
                return; // down: every timer was cleared, and nothing may be sent (Device.Link.cs)
            long now = _clock.Now;
            foreach (Peer peer in _peers.All)
                FireTimers(peer, now, outbox);
        }
        Flush(outbox);
    }

    private void FireTimers(Peer peer, long now, Outbox outbox)
    {
        if (Due(ref peer.RetransmitHandshakeAt, now))
            ExpiredRetransmitHandshake(peer, now, outbox);
        if (Due(ref peer.SendKeepaliveAt, now))
            ExpiredSendKeepalive(peer, now, outbox);
        if (Due(ref peer.NewHandshakeAt, now))
            ExpiredNewHandshake(peer, now, outbox);
        if (Due(ref peer.ZeroKeyMaterialAt, now))
            ExpiredZeroKeyMaterial(peer);
        if (Due(ref peer.PersistentKeepaliveAt, now))
            ExpiredPersistentKeepalive(peer, now, outbox);
    }

    private static bool Due(ref long deadline, long now)
    {
        if (deadline == 0 || now < deadline)
            return false;
        deadline = 0;
        return true;
    }

    private void ExpiredRetransmitHandshake(Peer peer, long now, Outbox outbox)
    {
        peer.HandshakeTimeouts++; // the initiation this timer guarded got no response
        if (peer.HandshakeAttempts > MaxTimerHandshakes)
        {
            // Give up: drop what waited for this handshake; keys go after 3 * REJECT_AFTER_TIME.
            peer.SendKeepaliveAt = 0;
            PurgeStaged(peer, DropReason.StagedOverflow);
            if (peer.ZeroKeyMaterialAt == 0)
                peer.ZeroKeyMaterialAt = now + 3 * RejectAfterTime.Ticks;
            return;
        }
        peer.HandshakeAttempts++;
        peer.Endpoint = peer.Endpoint.WithoutSource(); // the local address may be why it failed
        SendInitiation(peer, isRetry: true, now, outbox);
    }

    private void ExpiredSendKeepalive(Peer peer, long now, Outbox outbox)
    {
        SendKeepalive(peer, now, outbox);
        if (peer.NeedAnotherKeepalive)
        {
            peer.NeedAnotherKeepalive = false;
            peer.SendKeepaliveAt = now + KeepaliveTimeout.Ticks;
        }
    }

    private void ExpiredNewHandshake(Peer peer, long now, Outbox outbox)
    {
        // We sent data and heard nothing for 15 s: the session may be dead on the other side.
        peer.Endpoint = peer.Endpoint.WithoutSource();
        SendInitiation(peer, isRetry: false, now, outbox);
    }

    private void ExpiredZeroKeyMaterial(Peer peer)
    {
        peer.Keypairs.Clear(_peers.Indices);
        peer.ForgetHandshake(_peers.Indices);
    }

    private void ExpiredPersistentKeepalive(Peer peer, long now, Outbox outbox)
    {
        if (peer.PersistentKeepaliveInterval != 0)
            SendKeepalive(peer, now, outbox);
    }

    // Hooks, named after the kernel's: each says after what it must be called.

    /// <summary>After sending a transport message that carries data (not a keepalive).</summary>
    private static void TimerDataSent(Peer peer, long now)
    {
        if (peer.NewHandshakeAt == 0)
            peer.NewHandshakeAt = now + KeepaliveTimeout.Ticks + RekeyTimeout.Ticks + Jitter();
    }

    /// <summary>After receiving a transport message that carries data (not a keepalive).</summary>
    private static void TimerDataReceived(Peer peer, long now)
    {
        if (peer.SendKeepaliveAt == 0)
            peer.SendKeepaliveAt = now + KeepaliveTimeout.Ticks;
        else
            peer.NeedAnotherKeepalive = true;
    }

    /// <summary>After sending any authenticated message (handshake, data, keepalive).</summary>
    private static void TimerAnyAuthenticatedPacketSent(Peer peer) => peer.SendKeepaliveAt = 0;

    /// <summary>After receiving any authenticated message.</summary>
    private static void TimerAnyAuthenticatedPacketReceived(Peer peer) => peer.NewHandshakeAt = 0;

    /// <summary>After sending or receiving any authenticated message: re-arms the persistent keepalive.</summary>
    private static void TimerAnyAuthenticatedPacketTraversal(Peer peer, long now)
    {
        if (peer.PersistentKeepaliveInterval != 0)
            peer.PersistentKeepaliveAt = now + TimeSpan.TicksPerSecond * peer.PersistentKeepaliveInterval;
    }

    /// <summary>After sending a handshake initiation.</summary>
    private static void TimerHandshakeInitiated(Peer peer, long now) => peer.RetransmitHandshakeAt = now + RekeyTimeout.Ticks + Jitter();

    /// <summary>After a handshake completes: response consumed (initiator) or first data on the new session (responder).</summary>
    private void TimerHandshakeComplete(Peer peer, long now)
    {
        peer.RetransmitHandshakeAt = 0;
        peer.HandshakeAttempts = 0;
        peer.HandshakesCompleted++;
        peer.SentLastMinuteHandshake = false;
        peer.LastHandshake = WallTime(now);
    }

    /// <summary>After session keys are derived from a handshake.</summary>
    private static void TimerSessionDerived(Peer peer, long now) => peer.ZeroKeyMaterialAt = now + 3 * RejectAfterTime.Ticks;

    private static long Jitter() => Random.Shared.NextInt64(RekeyTimeoutJitterMax.Ticks);

    /// <summary>Converts a monotonic instant to wall-clock time (for display).</summary>
    private DateTime WallTime(long ticks) => _clock.UtcNow - TimeSpan.FromTicks(_clock.Now - ticks);
}
