using Router.Linux.Uapi;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Linux.Tests;

/// <summary>
/// An IUapiDevice that only stores what it is told, with wireguard-go's set semantics (replace_peers, remove,
/// update_only, replace_allowed_ips, '-' removal), so tests can drive the real wg tool against the server.
/// </summary>
internal sealed class FakeUapiDevice : IUapiDevice
{
    public sealed class Peer
    {
        public Key32 PublicKey;
        public Key32 PresharedKey;
        public Endpoint Endpoint;
        public ushort Keepalive;
        public readonly List<UapiAllowedIp> AllowedIps = [];
        public readonly HashSet<UapiAllowedIp> AllowedIpSet = [];
    }

    public Key32 PrivateKey;
    public ushort ListenPort;
    public uint Fwmark;
    public readonly List<Peer> Peers = [];
    public int SetCalls;
    public int GetCalls;
    /// <summary>When set, Set returns this instead of applying.</summary>
    public int? ForcedSetResult;

    public Peer? Find(in Key32 key)
    {
        foreach (Peer peer in Peers)
            if (peer.PublicKey.Equals(key))
                return peer;
        return null;
    }

    public int Set(UapiSetRequest request)
    {
        SetCalls++;
        if (ForcedSetResult is int forced)
            return forced;
        if (request.HasPrivateKey)
            PrivateKey = request.PrivateKey; // a copy: the request is wiped after this returns
        if (request.ListenPort is ushort port)
            ListenPort = port;
        if (request.Fwmark is uint mark)
            Fwmark = mark;
        if (request.ReplacePeers)
            Peers.Clear();
        foreach (UapiPeerConfig config in request.Peers)
        {
            Peer? peer = Find(config.PublicKey);
            if (config.Remove)
            {
                if (peer is not null)
                    Peers.Remove(peer);
                continue;
            }
            if (peer is null)
            {
                if (config.UpdateOnly)
                    continue;
                peer = new Peer { PublicKey = config.PublicKey };
                Peers.Add(peer);
            }
            if (config.HasPresharedKey)
                peer.PresharedKey = config.PresharedKey;
            if (config.Endpoint is Endpoint endpoint)
                peer.Endpoint = endpoint;
            if (config.PersistentKeepaliveInterval is ushort keepalive)
                peer.Keepalive = keepalive;
            if (config.ReplaceAllowedIps)
            {
                peer.AllowedIps.Clear();
                peer.AllowedIpSet.Clear();
            }
            foreach (UapiAllowedIp change in config.AllowedIps)
            {
                UapiAllowedIp prefix = change.AsAdd();
                if (change.Remove)
                {
                    if (peer.AllowedIpSet.Remove(prefix))
                        peer.AllowedIps.Remove(prefix);
                }
                else if (peer.AllowedIpSet.Add(prefix))
                {
                    peer.AllowedIps.Add(prefix);
                }
            }
        }
        return 0;
    }

    public void Get(UapiWriter writer)
    {
        GetCalls++;
        var snapshot = new UapiDeviceSnapshot { PrivateKey = PrivateKey, ListenPort = ListenPort, Fwmark = Fwmark };
        foreach (Peer peer in Peers)
        {
            var p = new UapiPeerSnapshot
            {
                PublicKey = peer.PublicKey,
                PresharedKey = peer.PresharedKey,
                Endpoint = peer.Endpoint,
                PersistentKeepaliveInterval = peer.Keepalive,
                // Fixed counters so the formatting can be checked through wg show.
                LastHandshakeSeconds = 1_700_000_000,
                LastHandshakeNanoseconds = 5,
                TxBytes = 1234,
                RxBytes = 5678,
            };
            p.AllowedIps.AddRange(peer.AllowedIps);
            snapshot.Peers.Add(p);
        }
        writer.WriteDevice(snapshot);
    }
}
