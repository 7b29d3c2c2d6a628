namespace Router.Tunnel;

// The handshake queue (kernel receive.c wg_packet_receive / wg_packet_handshake_receive_worker, wireguard-go
// RoutineHandshake):
//
//   wg-udp-receive   type and size -> mac1 (cheap: one BLAKE2s) -> copy into the queue, or drop when it is full
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

    /// <summary>mac1, then into the queue; true when queued. Drops are counted. Needs the lock.</summary>
    private bool QueueHandshake(IO.PacketBuffer datagram)
    {
        if (!_cookieChecker.CheckMac1(datagram.Payload))
        {
            _drops.Increment(DropReason.BadMac1);
            return false;
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
