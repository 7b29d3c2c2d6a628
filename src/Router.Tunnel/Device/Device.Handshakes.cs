namespace Router.Tunnel;

// The handshake queue (kernel receive.c wg_packet_receive / wg_packet_handshake_receive_worker, wireguard-go
// RoutineHandshake):
//
//   wg-udp-receive   type and size -> mac1 (cheap: one BLAKE2s) -> copy into the queue; once it is 7/8 full,
//                    only with a valid mac2 (else a cookie reply from here); drop when it is full
//   wg-handshake     oldest first: under load? (queue depth >= 1/8, or was within 1 s) -> mac2 / cookie reply,
//                    rate limit -> Noise (the X25519 work) -> response / session -> flush
//
// Only a valid mac1 gets in, so a flood from anyone who does not know our public key costs one hash a packet and
// never puts the device under load; and the load is the backlog, not a rate, so a peer set that handshakes
// often but that the device keeps up with never sees cookies. Deterministically (HandleDatagrams without Start),
// the queue is worked off at the end of each HandleDatagrams call: a batch is the backlog.
public sealed partial class Device
{
    // Set once in Start, before the UDP thread exists: from then on the handshake thread works the queue.
    private bool _handshakeThreadRunning;
    private Thread? _handshakeThread;
    // Set under the lock when something was queued, reset under the lock when the queue is found empty: no lost wake-up.
    private readonly ManualResetEventSlim _handshakesWaiting = new(false);
    private readonly Outbox _handshakeOutbox = new();

    /// <summary>Messages the handshake thread works off per lock hold, so the receive path gets the lock in between.</summary>
    private const int HandshakesPerPass = 16;

    /// <summary>
    /// mac1, then into the queue; true when queued. Drops are counted. Needs the lock. The last eighth of the queue
    /// is kept for messages with a valid mac2: once the rest is full, a message without one gets its cookie reply
    /// right here instead of a place, so a legitimate peer learns its cookie even from a queue that a flood keeps
    /// full, and its retry (with mac2) still finds room. A full queue alone would drop it with the flood, retry after
    /// retry (measured: 17 s for a fresh handshake at 34k initiations/s, against one REKEY_TIMEOUT with the reserve).
    /// </summary>
    private bool QueueHandshake(IO.PacketBuffer datagram, long now, Outbox outbox)
    {
        ReadOnlySpan<byte> message = datagram.Payload;
        if (!_cookieChecker.CheckMac1(message))
        {
            _drops.Increment(DropReason.BadMac1);
            RecordRejected(DropReason.BadMac1, datagram.Endpoint, now);
            return false;
        }
        if (_handshakes.Count >= _handshakes.Capacity - _handshakes.Capacity / 8)
        {
            IsUnderLoad(now); // at this depth it is, and stays so for UNDER_LOAD_AFTER_TIME
            if (!_cookieChecker.CheckMac2(message, datagram.Endpoint))
            {
                SendCookieReply(message, (MessageType)Messages.ReadU32(message, 0), datagram.Endpoint, outbox);
                _drops.Increment(DropReason.CookieRequired);
                return false;
            }
        }
        if (!_handshakes.TryEnqueue(datagram))
        {
            _drops.Increment(DropReason.HandshakeQueueFull);
            return false;
        }
        return true;
    }

    private void StartHandshakeThread()
    {
        _handshakeThreadRunning = true;
        _handshakeThread = StartThread("wg-handshake", HandshakeLoop);
    }

    private void HandshakeLoop()
    {
        Outbox outbox = _handshakeOutbox;
        while (!_stopping.IsSet)
        {
            _handshakesWaiting.Wait(ImplementationConstants.TimerResolution);
            bool empty = false;
            while (!empty && !_stopping.IsSet)
            {
                lock (_lock)
                {
                    empty = ProcessHandshakes(HandshakesPerPass, _clock.Now, outbox);
                    if (empty)
                        _handshakesWaiting.Reset();
                }
                Flush(outbox);
            }
        }
    }
}
