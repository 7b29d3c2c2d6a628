using Router.Tunnel.IO;

namespace Router.Tunnel;

// The handshake queue (kernel receive.c wg_packet_receive / wg_packet_handshake_receive_worker, wireguard-go
// RoutineHandshake):
//
//   wg-udp-receive   type and size -> (1, 2) mac1 (cheap: one BLAKE2s) -> copy into the queue; once it is 7/8 full,
//                    only with a valid mac2 (else a cookie reply from here, per-source limited); drop when full.
//                    (3) cookie replies join the queue as they are, below the reserve.
//   wg-handshake     oldest first: under load? (handshakes queued >= 1/8, or were within 1 s) -> mac2 / cookie reply,
//                    rate limit -> Noise (the X25519 work) under the device lock, one message per hold -> flush
//
// Locks. _handshakeLock guards the queue, the cookie checker, both rate limiters and the load clock; _lock guards
// the protocol state. The receive thread takes _handshakeLock, never _lock, for handshakes, so a flood of them never
// stands between it and the transport messages it reads; the worker takes one lock at a time, and a configuration
// change may take _handshakeLock inside _lock (never the other way round).
//
// Only a valid mac1 counts, so a flood from anyone who does not know our public key costs one hash a packet and
// never puts the device under load; and the load is the backlog, not a rate, so a peer set that handshakes
// often but that the device keeps up with never sees cookies. Deterministically (HandleDatagrams without Start),
// the queue is worked off at the end of each HandleDatagrams call: a batch is the backlog.
public sealed partial class Device
{
    private readonly Lock _handshakeLock = new();
    // Set once in Start, before the UDP thread exists: from then on the handshake thread works the queue.
    private bool _handshakeThreadRunning;
    private Thread? _handshakeThread;
    // Set when something was queued, reset under _handshakeLock when the queue is found empty: no lost wake-up.
    private readonly ManualResetEventSlim _handshakesWaiting = new(false);
    private readonly Outbox _handshakeOutbox = new();

    /// <summary>Messages the handshake thread works off between flushes of its replies.</summary>
    private const int HandshakesPerPass = 16;

    /// <summary>
    /// mac1, then into the queue; true when queued. Drops are counted. Needs <see cref="_handshakeLock"/>. The last
    /// eighth of the queue is kept for messages with a valid mac2: once the rest is full, a message without one gets
    /// its cookie reply right here instead of a place, so a legitimate peer learns its cookie even from a queue that a
    /// flood keeps full, and its retry (with mac2) still finds room. A full queue alone would drop it with the flood,
    /// retry after retry (measured: 17 s for a fresh handshake at 34k initiations/s, against one REKEY_TIMEOUT with
    /// the reserve). Cookie replies (no mac to check) never take the reserve.
    /// </summary>
    private bool QueueHandshake(PacketBuffer datagram, MessageType type, long now, Outbox outbox)
    {
        ReadOnlySpan<byte> message = datagram.Payload;
        bool reserve = _handshakes.Count >= _handshakes.Capacity - _handshakes.Capacity / 8;
        if (type == MessageType.CookieReply)
        {
            if (reserve)
            {
                _drops.Increment(DropReason.HandshakeQueueFull);
                return false;
            }
        }
        else if (!_cookieChecker.CheckMac1(message))
        {
            _drops.Increment(DropReason.BadMac1);
            RecordRejected(DropReason.BadMac1, datagram.Endpoint, now);
            return false;
        }
        else if (reserve)
        {
            IsUnderLoad(now); // at this depth it is, and stays so for UNDER_LOAD_AFTER_TIME
            if (!_cookieChecker.CheckMac2(message, datagram.Endpoint))
            {
                AnswerWithCookie(message, type, datagram.Endpoint, outbox);
                return false;
            }
        }
        if (!_handshakes.TryEnqueue(datagram, counts: type != MessageType.CookieReply))
        {
            _drops.Increment(DropReason.HandshakeQueueFull);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Works off up to <paramref name="limit"/> queued messages, oldest first, each judged with itself still counted
    /// in the queue (as the kernel does); true when the queue is now empty. Takes the locks itself, one at a time.
    /// </summary>
    private bool ProcessHandshakes(int limit, Outbox outbox)
    {
        for (int i = 0; i < limit; i++)
        {
            PacketBuffer? datagram;
            bool admitted;
            long now = _clock.Now;
            lock (_handshakeLock)
            {
                datagram = _handshakes.Peek();
                if (datagram is null)
                {
                    _handshakesWaiting.Reset();
                    return true;
                }
                admitted = Admit(datagram, now, outbox);
            }
            // The head slot stays ours until RemoveHead: the receive thread only writes behind it.
            if (admitted)
            {
                lock (_lock)
                    ReceiveHandshake(datagram, now, outbox);
            }
            lock (_handshakeLock)
                _handshakes.RemoveHead();
        }
        lock (_handshakeLock)
            return _handshakes.Count == 0;
    }

    /// <summary>
    /// Under load, a handshake needs a valid mac2 (else it earns a cookie reply) and must pass the per-source rate
    /// limit. True when it goes on to the Noise work. Needs <see cref="_handshakeLock"/>.
    /// </summary>
    private bool Admit(PacketBuffer datagram, long now, Outbox outbox)
    {
        ReadOnlySpan<byte> message = datagram.Payload;
        var type = (MessageType)Messages.ReadU32(message, 0);
        if (type == MessageType.CookieReply || !IsUnderLoad(now))
            return true;
        if (!_cookieChecker.CheckMac2(message, datagram.Endpoint))
        {
            AnswerWithCookie(message, type, datagram.Endpoint, outbox);
            return false;
        }
        if (!_rateLimiter.Allow(datagram.Endpoint))
        {
            _drops.Increment(DropReason.RateLimited);
            return false;
        }
        return true;
    }

    /// <summary>
    /// Whether handshakes need a cookie now: at least <see cref="UnderLoadQueueDepth"/> handshakes wait, or did less
    /// than UNDER_LOAD_AFTER_TIME ago (kernel receive.c, wireguard-go IsUnderLoad). Needs <see cref="_handshakeLock"/>.
    /// </summary>
    private bool IsUnderLoad(long now)
    {
        if (_handshakes.Load >= UnderLoadQueueDepth || ForceUnderLoad)
        {
            _lastUnderLoad = now;
            _everUnderLoad = true;
            return true;
        }
        return _everUnderLoad && now - _lastUnderLoad < ImplementationConstants.UnderLoadAfterTime.Ticks;
    }

    /// <summary>
    /// The cookie reply a handshake without a valid mac2 earns under load, at most as many per source as the rate
    /// limiter lets through (a flood from few addresses must not buy a reply each). Needs <see cref="_handshakeLock"/>.
    /// </summary>
    private void AnswerWithCookie(ReadOnlySpan<byte> message, MessageType type, in Endpoint source, Outbox outbox)
    {
        if (!_cookieReplyLimiter.Allow(source))
        {
            _drops.Increment(DropReason.CookieReplyLimited);
            return;
        }
        uint sender = Messages.ReadU32(message, type == MessageType.Initiation ? Messages.InitSender : Messages.RespSender);
        PacketBuffer reply = _pool.Rent();
        _cookieChecker.CreateReply(message, sender, source, reply.Data.AsSpan(PacketBuffer.Headroom, ProtocolConstants.CookieReplySize));
        reply.Length = ProtocolConstants.CookieReplySize;
        reply.Endpoint = source;
        outbox.Send(reply);
        outbox.Own(reply);
        _drops.Increment(DropReason.CookieRequired);
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
                empty = ProcessHandshakes(HandshakesPerPass, outbox);
                Flush(outbox);
            }
        }
    }
}
