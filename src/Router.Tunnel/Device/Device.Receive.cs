using Router.Crypto;
using Router.Tunnel.Cookies;
using Router.Tunnel.IO;
using Router.Tunnel.Noise;
using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel;

// Inbound (kernel receive.c, wireguard-go receive.go):
//
//   UDP batch -> type and exact size
//     1, 2 -> mac1 (always) -> handshake queue (its depth is the load: Device.Handshakes.cs), without the device lock
//          -> worker: under load, mac2 or cookie reply, then per-source rate limit -> Noise -> reply/session
//     3    -> handshake queue -> worker: index -> that peer's cookie generator
//     4    -> index -> keypair (not expired) -> Open in place -> replay window -> roam, confirm next keypair
//          -> inner source must be the peer's allowed IP -> TUN batch
public sealed partial class Device
{
    /// <summary>
    /// Processes received UDP datagrams (source in <see cref="PacketBuffer.Endpoint"/>). Transport messages are
    /// decrypted in place and written to the TUN before this returns; buffers stay the caller's. Never throws on
    /// malformed input: every drop is counted in <see cref="Drops"/>.
    /// </summary>
    public void HandleDatagrams(ReadOnlySpan<PacketBuffer> datagrams) => ClassifyDatagrams(datagrams, null);

    /// <summary>
    /// Queues handshakes and cookie replies for the handshake worker; transport messages are opened here without <paramref name="batch"/>,
    /// or become its jobs (threaded mode: <paramref name="datagrams"/> = its leading buffers) for a crypto worker,
    /// with the replay check and delivery after decryption in <see cref="DrainReceived"/>.
    /// </summary>
    /// <param name="pipelineFull">Threaded mode with every batch in flight: transport messages are dropped unopened.</param>
    private void ClassifyDatagrams(ReadOnlySpan<PacketBuffer> datagrams, CryptoBatch? batch, bool pipelineFull = false)
    {
        Outbox outbox = _udpOutbox;
        long now = _clock.Now;
        bool queued = false, transport = false, holding = false;
        // Handshakes and cookie replies go to the handshake queue under its own lock, taken only when the read has
        // one: however many there are, they cost the device lock nothing, and the read's transport messages never
        // wait behind them.
        try
        {
            for (int i = 0; i < datagrams.Length; i++)
            {
                PacketBuffer datagram = datagrams[i];
                if (!Messages.TryClassify(datagram.Payload, out MessageType type, out DropReason reason))
                {
                    _drops.Increment(reason);
                    continue;
                }
                if (type == MessageType.Transport)
                {
                    transport = true;
                    continue;
                }
                if (!holding)
                {
                    _handshakeLock.Enter();
                    holding = true;
                }
                queued |= QueueHandshake(datagram, type, now, outbox);
            }
        }
        finally
        {
            if (holding)
                _handshakeLock.Exit();
        }

        if (transport)
        {
            lock (_lock)
            {
                for (int i = 0; i < datagrams.Length; i++)
                {
                    if (!Messages.TryClassify(datagrams[i].Payload, out MessageType type, out _) || type != MessageType.Transport)
                        continue; // counted or queued above
                    if (pipelineFull)
                        _drops.Increment(DropReason.QueueFull);
                    else
                        ReceiveTransport(datagrams[i], i, batch, now, outbox);
                }
            }
        }
        if (queued && _handshakeThreadRunning)
            _handshakesWaiting.Set();
        else if (queued)
            ProcessHandshakes(int.MaxValue, outbox); // deterministic mode: the batch's backlog, worked off here
        Flush(outbox);
    }

    /// <summary>
    /// The Noise work of a handshake message admitted by <see cref="Admit"/>, or a cookie reply. Needs the lock.
    /// </summary>
    private void ReceiveHandshake(PacketBuffer datagram, long now, Outbox outbox)
    {
        ReadOnlySpan<byte> message = datagram.Payload;
        var type = (MessageType)Messages.ReadU32(message, 0);
        if (type == MessageType.CookieReply)
        {
            ReceiveCookieReply(message);
            return;
        }

        Peer? peer;
        DropReason reason;
        if (type == MessageType.Initiation)
        {
            peer = _noise.ConsumeInitiation(message, _peers, out reason);
            if (peer is null)
            {
                _drops.Increment(reason);
                RecordRejected(reason, datagram.Endpoint, now);
                return;
            }
            Authenticated(peer, datagram, now);
            SendResponse(peer, now, outbox);
            return;
        }

        peer = _noise.ConsumeResponse(message, _peers.Indices, out reason);
        if (peer is null)
        {
            _drops.Increment(reason);
            return;
        }
        Authenticated(peer, datagram, now);
        if (_noise.BeginSession(peer, _peers.Indices) is null)
            return;
        TimerSessionDerived(peer, now);
        TimerHandshakeComplete(peer, now);
        SendKeepalive(peer, now, outbox); // confirms the session to the responder; flushes staged packets first
    }

    /// <summary>Bookkeeping for any authenticated message: roaming, counters, timers.</summary>
    private void Authenticated(Peer peer, PacketBuffer datagram, long now)
    {
        peer.Endpoint = datagram.Endpoint;
        peer.RxBytes += datagram.Length;
        peer.LastReceive = now;
        TimerAnyAuthenticatedPacketReceived(peer);
        TimerAnyAuthenticatedPacketTraversal(peer, now);
    }

    private void ReceiveCookieReply(ReadOnlySpan<byte> message)
    {
        if (!_peers.Indices.TryGet(Messages.ReadU32(message, Messages.CookieReceiver), out IndexTable.Entry entry))
        {
            _drops.Increment(DropReason.UnknownIndex);
            return;
        }
        if (!entry.Peer.Cookies.ConsumeReply(message))
            entry.Peer.CountDrop(DropReason.BadCookieReply, _drops);
    }

    private void ReceiveTransport(PacketBuffer datagram, int index, CryptoBatch? batch, long now, Outbox outbox)
    {
        ReadOnlySpan<byte> message = datagram.Payload;
        if (!_peers.Indices.TryGet(Messages.ReadU32(message, Messages.TransportReceiver), out IndexTable.Entry entry) ||
            entry.Keypair is not { } keypair)
        {
            _drops.Increment(DropReason.UnknownIndex);
            return;
        }
        Peer peer = entry.Peer;
        if (!keypair.CanReceive(now))
        {
            peer.CountDrop(DropReason.KeypairExpired, _drops);
            return;
        }
        if (batch is not null)
        {
            keypair.Acquire();
            batch.AddJob(index, keypair, peer);
            return;
        }
        if (AcceptTransport(peer, keypair, datagram, Open(keypair, datagram), now, outbox))
            outbox.Deliver(datagram);
    }

    /// <summary>
    /// After decryption, in arrival order: replay window, roaming, session confirmation, timers, allowed-IPs filter.
    /// True when <paramref name="datagram"/> now holds an IP packet to deliver. Needs the lock.
    /// </summary>
    private bool AcceptTransport(Peer peer, Keypair keypair, PacketBuffer datagram, bool opened, long now, Outbox outbox)
    {
        if (!opened)
        {
            peer.CountDrop(DropReason.DecryptFailed, _drops);
            return false;
        }
        if (!keypair.IsValid)
        {
            peer.CountDrop(DropReason.KeypairExpired, _drops); // retired while a worker decrypted it
            return false;
        }
        ReadOnlySpan<byte> message = datagram.Payload;
        ulong counter = Messages.ReadCounter(message);
        if (!keypair.Replay.TryAccept(counter))
        {
            peer.CountDrop(DropReason.ReplayedCounter, _drops);
            return false;
        }

        // Authenticated and fresh.
        peer.Endpoint = datagram.Endpoint;
        peer.RxBytes += message.Length;
        peer.LastReceive = now;
        if (peer.Keypairs.ReceivedWith(keypair, _peers.Indices))
        {
            TimerHandshakeComplete(peer, now);
            SendStaged(peer, now, outbox);
        }
        KeepKeyFreshReceiving(peer, now, outbox);
        TimerAnyAuthenticatedPacketReceived(peer);
        TimerAnyAuthenticatedPacketTraversal(peer, now);

        Span<byte> plaintext = datagram.Data.AsSpan(datagram.Offset + TransportHeaderSize, message.Length - KeepaliveSize);
        if (plaintext.IsEmpty)
            return false; // keepalive

        if (!InnerPacket.TryParseReceived(plaintext, out int length, out ReadOnlySpan<byte> source))
        {
            peer.CountDrop(DropReason.InvalidInnerPacket, _drops);
            return false;
        }
        if (!ReferenceEquals(_allowedIps.Lookup(source), peer))
        {
            peer.CountDrop(DropReason.AllowedIpsMismatch, _drops);
            return false;
        }
        TimerDataReceived(peer, now);
        datagram.Offset += TransportHeaderSize;
        datagram.Length = length;
        return true;
    }

    /// <summary>Decrypts a transport message in place; the plaintext follows the 16-byte header.</summary>
    private static bool Open(Keypair keypair, PacketBuffer datagram)
    {
        ulong counter = Messages.ReadCounter(datagram.Payload);
        Span<byte> body = datagram.Data.AsSpan(datagram.Offset + TransportHeaderSize, datagram.Length - TransportHeaderSize);
        return ChaCha20Poly1305.Decrypt(keypair.ReceiveKey, counter, body, ReadOnlySpan<byte>.Empty, body[..^TagSize]);
    }

    /// <summary>
    /// The initiator starts a new handshake before its session is rejected (kernel keep_key_fresh on receive:
    /// REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT), once per session.
    /// </summary>
    private void KeepKeyFreshReceiving(Peer peer, long now, Outbox outbox)
    {
        Keypair? keypair = peer.Keypairs.Current;
        if (keypair is not null && keypair.IsValid && keypair.IsInitiator && !peer.SentLastMinuteHandshake &&
            keypair.IsOlderThan(now, RejectAfterTime - KeepaliveTimeout - RekeyTimeout))
        {
            peer.SentLastMinuteHandshake = true;
            SendInitiation(peer, isRetry: false, now, outbox);
        }
    }
}
