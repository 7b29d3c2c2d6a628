using Router.Crypto;
using Router.Tunnel.IO;
using Router.Tunnel.Noise;
using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel;

// Outbound (kernel send.c, wireguard-go send.go):
//
//   TUN batch -> destination IP -> allowed-IPs lookup -> peer
//     -> session usable and nothing staged? -> Seal in place (header in the headroom, tag in the tailroom) -> bind
//     -> otherwise stage a pooled copy -> SendStaged: seal what a session allows, else start a handshake
public sealed partial class Device
{
    /// <summary>
    /// Encrypts and sends IP packets read from the TUN. Packets go out in place: each buffer's payload is replaced
    /// by its transport message before this returns; buffers stay the caller's. Packets without a session yet are
    /// copied and held until a handshake completes.
    /// </summary>
    public void HandleTunPackets(ReadOnlySpan<PacketBuffer> packets) => RouteTunPackets(packets, null);

    /// <summary>
    /// Routes IP packets to peers. Without <paramref name="batch"/> each packet is sealed here; with it (threaded
    /// mode, <paramref name="packets"/> = its leading buffers) each gets its counter and header here, under the lock,
    /// and becomes a job of the batch for a crypto worker, so counters follow the TUN order.
    /// </summary>
    private void RouteTunPackets(ReadOnlySpan<PacketBuffer> packets, CryptoBatch? batch)
    {
        CatchUpWithLink();
        Outbox outbox = _tunOutbox;
        lock (_lock)
        {
            long now = _clock.Now;
            int mtu = Mtu;
            for (int i = 0; i < packets.Length; i++)
            {
                PacketBuffer packet = packets[i];
                if (!_isUp)
                {
                    _drops.Increment(DropReason.InterfaceDown); // read from the TUN's queue just as it went down
                    continue;
                }
                ReadOnlySpan<byte> destination = InnerPacket.Destination(packet.Payload);
                if (destination.IsEmpty || !HasRoomToSeal(packet))
                {
                    _drops.Increment(DropReason.InvalidInnerPacket);
                    continue;
                }
                Peer? peer = _allowedIps.Lookup(destination);
                if (peer is null)
                {
                    _drops.Increment(DropReason.NoPeer);
                    continue;
                }
                if (!peer.Endpoint.IsSet)
                {
                    peer.CountDrop(DropReason.NoPeer, _drops);
                    continue;
                }
                Keypair? keypair = peer.Keypairs.Current;
                if (peer.Staged.Count == 0 && keypair is not null && keypair.CanSend(now))
                {
                    if (batch is null)
                    {
                        Seal(peer, keypair, packet, mtu, now);
                        outbox.Send(packet, peer);
                    }
                    else
                    {
                        PrepareSeal(peer, keypair, packet, mtu, now);
                        keypair.Acquire();
                        batch.AddJob(i, keypair, peer);
                    }
                    KeepKeyFreshSending(peer, now, outbox);
                    continue;
                }
                Stage(peer, packet);
            }
            foreach (Peer peer in _stagedPeers)
            {
                peer.InStagedList = false;
                SendStaged(peer, now, outbox);
            }
            _stagedPeers.Clear();
        }
        Flush(outbox);
    }

    /// <summary>The header goes into the headroom and padding plus tag into the tailroom (ITun's contract).</summary>
    private static bool HasRoomToSeal(PacketBuffer packet) =>
        packet.Offset >= TransportHeaderSize && packet.Offset + packet.Length + PaddingMultiple - 1 + TagSize <= packet.Data.Length;

    /// <summary>Holds a copy of <paramref name="packet"/> until the peer has a session (oldest dropped when full).</summary>
    private void Stage(Peer peer, PacketBuffer packet)
    {
        if (peer.Staged.Count >= ImplementationConstants.MaxStagedPackets)
        {
            peer.CountDrop(DropReason.StagedOverflow, _drops);
            _pool.Return(peer.Staged.Dequeue());
        }
        PacketBuffer copy = _pool.Rent();
        packet.Payload.CopyTo(copy.Data.AsSpan(PacketBuffer.Headroom));
        copy.Length = packet.Length;
        peer.Staged.Enqueue(copy);
        if (!peer.InStagedList)
        {
            peer.InStagedList = true;
            _stagedPeers.Add(peer);
        }
    }

    /// <summary>Sends what is staged if the current session allows, else asks for a handshake. Needs the lock.</summary>
    private void SendStaged(Peer peer, long now, Outbox outbox)
    {
        if (peer.Staged.Count == 0 || !_isUp)
            return;
        Keypair? keypair = peer.Keypairs.Current;
        if (keypair is null || !keypair.CanSend(now) || !peer.Endpoint.IsSet)
        {
            SendInitiation(peer, isRetry: false, now, outbox);
            return;
        }
        int mtu = Mtu;
        while (peer.Staged.TryDequeue(out PacketBuffer? buffer))
        {
            Seal(peer, keypair, buffer, mtu, now);
            outbox.Send(buffer, peer);
            outbox.Own(buffer);
            if (!keypair.CanSend(now))
                break; // counter exhausted: the rest waits for the next session
        }
        KeepKeyFreshSending(peer, now, outbox);
        if (peer.Staged.Count > 0)
            SendInitiation(peer, isRetry: false, now, outbox);
    }

    /// <summary>
    /// Turns the IP packet in <paramref name="buffer"/> into a transport message in place (whitepaper 5.4.6):
    /// pads to a multiple of 16 within the MTU, writes the header into the headroom, encrypts, appends the tag.
    /// </summary>
    private void Seal(Peer peer, Keypair keypair, PacketBuffer buffer, int mtu, long now)
    {
        PrepareSeal(peer, keypair, buffer, mtu, now);
        Encrypt(keypair, buffer);
    }

    /// <summary>
    /// Everything of <see cref="Seal"/> but the encryption, which needs only the keypair and the buffer and so may
    /// run on a crypto worker (<see cref="Encrypt"/>). Needs the lock.
    /// </summary>
    private void PrepareSeal(Peer peer, Keypair keypair, PacketBuffer buffer, int mtu, long now)
    {
        int length = buffer.Length;
        int padded = Messages.PaddedLength(length, mtu);
        byte[] data = buffer.Data;
        data.AsSpan(buffer.Offset + length, padded - length).Clear();
        ulong counter = keypair.SendCounter++;
        Messages.WriteTransportHeader(data.AsSpan(buffer.Offset - TransportHeaderSize, TransportHeaderSize), keypair.RemoteIndex, counter);
        buffer.Offset -= TransportHeaderSize;
        buffer.Length = TransportHeaderSize + padded + TagSize;
        buffer.Endpoint = peer.Endpoint;

        peer.TxBytes += buffer.Length;
        peer.LastSend = now;
        TimerAnyAuthenticatedPacketSent(peer);
        TimerAnyAuthenticatedPacketTraversal(peer, now);
        if (length != 0)
            TimerDataSent(peer, now);
    }

    /// <summary>Encrypts a prepared transport message in place (counter from its header, tag into the tailroom).</summary>
    private static void Encrypt(Keypair keypair, PacketBuffer message)
    {
        Span<byte> body = message.Data.AsSpan(message.Offset + TransportHeaderSize, message.Length - TransportHeaderSize);
        ulong counter = Messages.ReadCounter(message.Payload);
        ChaCha20Poly1305.Encrypt(keypair.SendKey, counter, body[..^TagSize], ReadOnlySpan<byte>.Empty, body);
    }

    /// <summary>Sends an empty transport message (or whatever is staged), starting a handshake if needed.</summary>
    private void SendKeepalive(Peer peer, long now, Outbox outbox)
    {
        if (!_isUp)
            return; // e.g. a persistent keepalive configured while the interface is down
        if (peer.Staged.Count == 0)
        {
            PacketBuffer empty = _pool.Rent();
            empty.Length = 0;
            peer.Staged.Enqueue(empty);
        }
        SendStaged(peer, now, outbox);
    }

    /// <summary>
    /// Writes and sends a handshake initiation, at most one per REKEY_TIMEOUT (kernel
    /// wg_packet_send_queued_handshake_initiation). A retry keeps the attempt count; anything else resets it.
    /// </summary>
    private void SendInitiation(Peer peer, bool isRetry, long now, Outbox outbox)
    {
        if (!_isUp)
            return; // the last guard: a down interface never initiates (kernel: no handshake while down)
        if (!isRetry)
            peer.HandshakeAttempts = 0;
        Handshake hs = peer.Handshake;
        if (hs.LastSentInitiation != 0 && now - hs.LastSentInitiation < RekeyTimeout.Ticks)
            return;
        PacketBuffer buffer = _pool.Rent();
        Span<byte> message = buffer.Data.AsSpan(PacketBuffer.Headroom, InitiationSize);
        if (!_noise.CreateInitiation(peer, _peers.Indices, message))
        {
            _pool.Return(buffer);
            return;
        }
        hs.LastSentInitiation = now;
        peer.Cookies.AddMacs(message);
        TimerAnyAuthenticatedPacketTraversal(peer, now);
        SendHandshakeMessage(peer, buffer, InitiationSize, now, outbox);
        peer.InitiationsSent++;
        TimerHandshakeInitiated(peer, now);
    }

    /// <summary>Answers a consumed initiation and derives the (next) session. Needs the lock.</summary>
    private void SendResponse(Peer peer, long now, Outbox outbox)
    {
        PacketBuffer buffer = _pool.Rent();
        Span<byte> message = buffer.Data.AsSpan(PacketBuffer.Headroom, ResponseSize);
        if (!_noise.CreateResponse(peer, _peers.Indices, message) || _noise.BeginSession(peer, _peers.Indices) is null)
        {
            _pool.Return(buffer);
            peer.CountDrop(DropReason.HandshakeFailed, _drops);
            return;
        }
        peer.Handshake.LastSentInitiation = now; // kernel: last_sent_handshake covers responses too
        TimerSessionDerived(peer, now);
        peer.Cookies.AddMacs(message);
        TimerAnyAuthenticatedPacketTraversal(peer, now);
        SendHandshakeMessage(peer, buffer, ResponseSize, now, outbox);
    }

    private void SendHandshakeMessage(Peer peer, PacketBuffer buffer, int length, long now, Outbox outbox)
    {
        buffer.Offset = PacketBuffer.Headroom;
        buffer.Length = length;
        buffer.Endpoint = peer.Endpoint;
        outbox.Own(buffer);
        if (!peer.Endpoint.IsSet)
        {
            peer.CountDrop(DropReason.NoPeer, _drops);
            return;
        }
        outbox.Send(buffer, peer);
        peer.TxBytes += length;
        peer.LastSend = now;
        TimerAnyAuthenticatedPacketSent(peer);
    }

    /// <summary>Initiator rekeys a session that is old or worn (kernel keep_key_fresh on send).</summary>
    private void KeepKeyFreshSending(Peer peer, long now, Outbox outbox)
    {
        Keypair? keypair = peer.Keypairs.Current;
        if (keypair is not null && keypair.IsValid &&
            (keypair.SendCounter > RekeyAfterMessages || (keypair.IsInitiator && keypair.IsOlderThan(now, RekeyAfterTime))))
            SendInitiation(peer, isRetry: false, now, outbox);
    }
}
