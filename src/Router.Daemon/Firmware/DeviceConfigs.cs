using System.Net;
using Router.Daemon.Config;
using Router.Tunnel;
using Router.Tunnel.IO;
using ConfigPeer = Router.Daemon.Config.PeerConfig;
using TunnelPeer = Router.Tunnel.PeerConfig;
using Router.Crypto;

namespace Router.Daemon.Firmware;

/// <summary>
/// Turns the validated configuration into engine transactions (<see cref="DeviceConfig"/>): the whole interface at
/// bring-up, and only the changed fields of a changed peer on reload (UpdateOnly), so sessions and counters survive.
/// The caller clears the secrets of what it gets back once applied.
/// </summary>
internal static class DeviceConfigs
{
    public static Router.Tunnel.PublicKey Key(Router.Daemon.Config.PublicKey key) => new(key.Bytes);

    /// <summary>Everything for a fresh device: identity, port, mark and the peers (replacing any).</summary>
    public static DeviceConfig Full(InterfaceConfig iface, Func<ConfigPeer, IPEndPoint?> endpoint)
    {
        var config = new DeviceConfig
        {
            PrivateKey = Key32.From(iface.PrivateKey.Bytes),
            ListenPort = (ushort)(iface.ListenPort ?? 0),
            FirewallMark = iface.FwMark,
            ReplacePeers = true,
        };
        foreach (var p in iface.Peers)
            config.Peers.Add(Peer(p, PeerFields.PresharedKey | PeerFields.Endpoint | PeerFields.AllowedIps | PeerFields.PersistentKeepalive, endpoint(p), updateOnly: false));
        return config;
    }

    /// <summary>One peer's fields as an engine peer change; with <paramref name="updateOnly"/> it never creates the peer.</summary>
    public static TunnelPeer Peer(ConfigPeer p, PeerFields fields, IPEndPoint? endpoint, bool updateOnly)
    {
        var peer = new TunnelPeer(Key(p.PublicKey)) { UpdateOnly = updateOnly };
        if ((fields & PeerFields.PresharedKey) != 0)
            peer.PresharedKey = p.PresharedKey is { } psk ? Key32.From(psk.Bytes) : default(Key32); // zero: no PSK
        if ((fields & PeerFields.Endpoint) != 0 && endpoint is not null)
            peer.Endpoint = Endpoint.FromIPEndPoint(endpoint);
        if ((fields & PeerFields.PersistentKeepalive) != 0)
            peer.PersistentKeepaliveInterval = (ushort)p.PersistentKeepalive;
        if ((fields & PeerFields.AllowedIps) != 0)
        {
            peer.ReplaceAllowedIps = true;
            foreach (var net in p.AllowedIps)
                peer.AllowedIps.Add(new AllowedIpChange(new AllowedIp(net.BaseAddress, net.PrefixLength)));
        }
        return peer;
    }

    public static TunnelPeer Remove(ConfigPeer p) => new(Key(p.PublicKey)) { Remove = true };
}
