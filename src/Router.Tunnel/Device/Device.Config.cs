using System.Net;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Tunnel;

// Configuration and inspection: what the UAPI layer's set=1 and get=1 call.
public sealed partial class Device
{
    /// <summary>
    /// Applies one set transaction. Everything is validated, the peer limit checked, and a new bind opened if the
    /// port or fwmark changes, before anything is applied: on those exceptions nothing changed. Peers are applied
    /// in slices of at most 5 ms under the packet-path lock, so a large set never stalls established tunnels;
    /// packets between slices see a partly applied set, as they would between two sets.
    /// </summary>
    /// <exception cref="ArgumentException">A key or prefix is invalid.</exception>
    /// <exception cref="PeerLimitException">The set would leave more than <see cref="PeerLimit"/> peers.</exception>
    public void Configure(DeviceConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (PeerConfig peerConfig in config.Peers)
        {
            if (peerConfig.PublicKey.IsZero)
                throw new ArgumentException("A peer's public key must not be zero.", nameof(config));
            foreach (AllowedIpChange change in peerConfig.AllowedIps)
            {
                if (!change.Prefix.IsValid)
                    throw new ArgumentException($"Invalid allowed IP {change.Prefix}.", nameof(config));
            }
        }

        Outbox outbox = _configOutbox;
        lock (_configLock)
        {
            IBind? oldBind = null;
            IBind? newBind = null;
            ushort port = config.ListenPort ?? _listenPort;
            uint mark = config.FirewallMark ?? _firewallMark;
            // Only this thread changes the peer set (it holds _configLock), so the count needs no packet-path lock.
            int resulting = CountPeersAfter(config);
            if (resulting > PeerLimit)
                throw new PeerLimitException(resulting, PeerLimit);
            if ((_bind is null && config.ListenPort is not null) || (_bind is not null && (port != _listenPort || mark != _firewallMark)))
                newBind = _bindFactory(port, mark); // may throw: nothing applied yet

            try
            {
                lock (_lock)
                {
                    _listenPort = port;
                    _firewallMark = mark;
                    if (newBind is not null)
                    {
                        oldBind = _bind;
                        if (oldBind is not null)
                        {
                            Interlocked.Add(ref _retiredReceiveDrops, oldBind.ReceiveDrops);
                            Interlocked.Add(ref _retiredSendDrops, oldBind.SendDrops);
                        }
                        Volatile.Write(ref _bind, newBind);
                    }
                    if (config.PrivateKey is { } privateKey)
                    {
                        SetPrivateKey(privateKey);
                        privateKey.Clear();
                    }
                }
                if (config.ReplacePeers)
                    RemoveAllPeersInSlices();
                ApplyPeersInSlices(config.Peers, outbox);
            }
            finally
            {
                // Also when a later step threw (a key the crypto library could not take): the bind that was
                // swapped out must close, or the receive thread keeps polling it and Stop waits for it forever.
                oldBind?.Dispose();
            }
            Flush(outbox);
        }
    }

    /// <summary>
    /// Longest time one configuration step holds the packet-path lock. A set of 100,000 peers applied in one hold
    /// stalled established tunnels for seconds; in slices, packets wait at most this long (plus one peer's work).
    /// </summary>
    private static readonly long SliceTicks = System.Diagnostics.Stopwatch.Frequency * 5 / 1000;

    private void RemoveAllPeersInSlices()
    {
        _peerScratch.Clear();
        _peerScratch.AddRange(_peers.All);
        int next = 0;
        while (next < _peerScratch.Count)
        {
            lock (_lock)
            {
                long end = System.Diagnostics.Stopwatch.GetTimestamp() + SliceTicks;
                do
                {
                    Peer peer = _peerScratch[next++];
                    DestroyPeer(peer);
                    _peers.Remove(peer.PublicKey);
                }
                while (next < _peerScratch.Count && System.Diagnostics.Stopwatch.GetTimestamp() < end);
            }
            if (next < _peerScratch.Count)
                YieldToPacketPath();
        }
        _peerScratch.Clear();
    }

    private void ApplyPeersInSlices(List<PeerConfig> peers, Outbox outbox)
    {
        int next = 0;
        while (next < peers.Count)
        {
            lock (_lock)
            {
                long now = _clock.Now;
                long end = System.Diagnostics.Stopwatch.GetTimestamp() + SliceTicks;
                do
                    ApplyPeer(peers[next++], now, outbox);
                while (next < peers.Count && System.Diagnostics.Stopwatch.GetTimestamp() < end);
            }
            if (next < peers.Count)
            {
                Flush(outbox);
                YieldToPacketPath();
            }
        }
    }

    /// <summary>
    /// Lets the threads waiting for the lock take it between slices: .NET's lock is not fair, so re-taking it at
    /// once would usually win again and the slices would run back to back.
    /// </summary>
    private static void YieldToPacketPath() => Thread.Sleep(1);

    /// <summary>How many peers the device would have after <paramref name="config"/>, applied in order.</summary>
    private int CountPeersAfter(DeviceConfig config)
    {
        int count = config.ReplacePeers ? 0 : _peers.Count;
        if (config.Peers.Count == 0)
            return count;
        PublicKey? ours = _noise.HasIdentity && config.PrivateKey is null ? new PublicKey(_noise.StaticPublic) : null;
        var present = new Dictionary<PublicKey, bool>();
        foreach (PeerConfig peer in config.Peers)
        {
            if (!present.TryGetValue(peer.PublicKey, out bool exists))
                exists = !config.ReplacePeers && _peers.Find(peer.PublicKey) is not null;
            bool after = peer.Remove ? false : exists || (!peer.UpdateOnly && peer.PublicKey != ours);
            count += (after ? 1 : 0) - (exists ? 1 : 0);
            present[peer.PublicKey] = after;
        }
        return count;
    }

    /// <summary>
    /// Most peers this device holds (ROUTERD_PEER_LIMIT in the daemon). Each peer costs about 4 KB, so the default
    /// (wireguard-go's MaxPeers, 65,536) bounds the peers' memory near 256 MB; a set beyond it is refused whole.
    /// </summary>
    public int PeerLimit { get; set; } = DefaultPeerLimit;

    public const int DefaultPeerLimit = 1 << 16;

    private readonly List<Peer> _peerScratch = new();

    /// <summary>For tests: the peer with this key.</summary>
    internal Peer? FindPeer(PublicKey publicKey)
    {
        lock (_lock)
            return _peers.Find(publicKey);
    }

    /// <summary>Opens the UDP side if it is not open yet (first configuration or <see cref="Start"/>).</summary>
    public void Bind()
    {
        lock (_configLock)
        {
            if (_bind is not null)
                return;
            IBind bind = _bindFactory(_listenPort, _firewallMark);
            lock (_lock)
                Volatile.Write(ref _bind, bind);
        }
    }

    private void SetPrivateKey(in Key32 privateKey)
    {
        _noise.SetPrivateKey(privateKey);
        lock (_handshakeLock)
            _cookieChecker.SetPublicKey(_noise.StaticPublic);
        PublicKey? ours = _noise.HasIdentity ? new PublicKey(_noise.StaticPublic) : null;
        if (ours is { } self && _peers.Find(self) is { } mirror)
        {
            // A peer with our own public key cannot exist (wireguard-go removes it).
            DestroyPeer(mirror);
            _peers.Remove(self);
        }
        foreach (Peer peer in _peers.All)
        {
            _noise.Precompute(peer.Handshake);
            peer.Keypairs.Clear(_peers.Indices); // sessions under the old identity are no longer ours
            peer.ForgetHandshake(_peers.Indices);
        }
    }

    private void ApplyPeer(PeerConfig config, long now, Outbox outbox)
    {
        Peer? peer = _peers.Find(config.PublicKey);
        if (config.Remove)
        {
            if (peer is not null)
            {
                DestroyPeer(peer);
                _peers.Remove(peer.PublicKey);
            }
            return;
        }
        if (peer is null)
        {
            if (config.UpdateOnly)
                return;
            if (_noise.HasIdentity && config.PublicKey == new PublicKey(_noise.StaticPublic))
                return; // our own key: ignored, as wireguard-go does
            peer = new Peer(config.PublicKey, _clock);
            _noise.Precompute(peer.Handshake);
            _peers.Add(peer);
        }
        if (config.PresharedKey is { } psk)
        {
            ((ReadOnlySpan<byte>)psk).CopyTo(peer.Handshake.PresharedKey);
            psk.Clear();
        }
        if (config.Endpoint is { } endpoint)
            peer.Endpoint = endpoint;
        if (config.ReplaceAllowedIps)
            _allowedIps.RemoveByPeer(peer);
        Span<byte> address = stackalloc byte[16];
        foreach (AllowedIpChange change in config.AllowedIps)
        {
            change.Prefix.Address.TryWriteBytes(address, out int length);
            if (change.Remove)
                _allowedIps.Remove(address[..length], change.Prefix.Cidr, peer);
            else
                _allowedIps.Insert(address[..length], change.Prefix.Cidr, peer);
        }
        if (config.PersistentKeepaliveInterval is { } interval)
        {
            ushort old = peer.PersistentKeepaliveInterval;
            peer.PersistentKeepaliveInterval = interval;
            if (interval == 0)
                peer.PersistentKeepaliveAt = 0;
            else if (old == 0 && _bind is not null)
                SendKeepalive(peer, now, outbox); // brings the tunnel up now, as the kernel and wireguard-go do
        }
    }

    /// <summary>Everything get=1 reports, read under the lock. The caller clears the secrets it holds.</summary>
    public DeviceSnapshot Snapshot()
    {
        lock (_lock)
        {
            long now = _clock.Now;
            var peers = new List<PeerSnapshot>(_peers.Count);
            var prefixes = new List<(byte[] Address, int Cidr)>();
            foreach (Peer peer in _peers.All)
            {
                prefixes.Clear();
                _allowedIps.Enumerate(peer, prefixes);
                var allowed = new List<AllowedIp>(prefixes.Count);
                foreach (var (address, cidr) in prefixes)
                    allowed.Add(new AllowedIp(new IPAddress(address), cidr));
                peers.Add(new PeerSnapshot
                {
                    PublicKey = peer.PublicKey,
                    PresharedKey = peer.Handshake.HasPresharedKey ? Key32.From(peer.Handshake.PresharedKey) : null,
                    Endpoint = peer.Endpoint.IsSet ? peer.Endpoint : null,
                    PersistentKeepaliveInterval = peer.PersistentKeepaliveInterval,
                    LastHandshake = peer.LastHandshake,
                    RxBytes = peer.RxBytes,
                    TxBytes = peer.TxBytes,
                    AllowedIps = allowed,
                    HandshakeAttempts = peer.HandshakeAttempts,
                    InitiationsSent = peer.InitiationsSent,
                    HandshakesCompleted = peer.HandshakesCompleted,
                    HandshakeTimeouts = peer.HandshakeTimeouts,
                    HasSession = peer.Keypairs.Current?.CanSend(now) ?? false,
                    LastReceive = peer.LastReceive == 0 ? null : WallTime(peer.LastReceive),
                    LastSend = peer.LastSend == 0 ? null : WallTime(peer.LastSend),
                    Drops = peer.Drops,
                });
            }
            Key32? privateKey = null;
            if (_noise.HasIdentity)
            {
                var key = default(Key32);
                _noise.CopyPrivateKey(key);
                privateKey = key;
                key.Clear();
            }
            return new DeviceSnapshot
            {
                PrivateKey = privateKey,
                PublicKey = _noise.HasIdentity ? new PublicKey(_noise.StaticPublic) : null,
                ListenPort = _bind?.Port ?? _listenPort,
                FirewallMark = _firewallMark,
                Peers = peers,
            };
        }
    }
}
