using System.Net;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Tunnel;

// Configuration and inspection: what the UAPI layer's set=1 and get=1 call.
public sealed partial class Device
{
    /// <summary>
    /// Applies one set transaction atomically with respect to the packet path. Everything is validated, and a new
    /// bind opened if the port or fwmark changes, before anything is applied: on an exception nothing changed.
    /// </summary>
    /// <exception cref="ArgumentException">A key or prefix is invalid.</exception>
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
            if ((_bind is null && config.ListenPort is not null) || (_bind is not null && (port != _listenPort || mark != _firewallMark)))
                newBind = _bindFactory(port, mark); // may throw: nothing applied yet

            try
            {
                lock (_lock)
                {
                    long now = _clock.Now;
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
                    if (config.ReplacePeers)
                    {
                        foreach (Peer peer in _peers.All)
                            DestroyPeer(peer);
                        _peerScratch.Clear();
                        _peerScratch.AddRange(_peers.All);
                        foreach (Peer peer in _peerScratch)
                            _peers.Remove(peer.PublicKey);
                        _peerScratch.Clear();
                    }
                    foreach (PeerConfig peerConfig in config.Peers)
                        ApplyPeer(peerConfig, now, outbox);
                }
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
