using System.Text;
using System.ComponentModel;
using Router.Linux.Uapi;
using Router.Tunnel;
using Router.Crypto;

namespace Router.Daemon.Hosting;

/// <summary>
/// Joins wg(8)'s UAPI to the engine: a parsed <c>set=1</c> becomes one <see cref="DeviceConfig"/> transaction, and a
/// <see cref="DeviceSnapshot"/> becomes the <c>get=1</c> reply. Every key copied on the way is wiped afterwards.
/// </summary>
internal sealed class UapiDeviceAdapter(Device device) : IUapiDevice
{
    /// <summary>Called after every successful set (the firmware mode uses it to follow runtime changes).</summary>
    public Action? Changed { get; init; }

    public void GetDrops(UapiWriter writer)
    {
        Span<long> counts = stackalloc long[DropCounters.Count];
        device.CopyDropsTo(counts);
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
                writer.WriteNumber(Encoding.ASCII.GetBytes(((DropReason)i).ToString()), (ulong)counts[i]);
        }
    }

    public void Get(UapiWriter writer)
    {
        DeviceSnapshot state = device.Snapshot();
        var reply = new UapiDeviceSnapshot { ListenPort = state.ListenPort, Fwmark = state.FirewallMark };
        Span<byte> key = stackalloc byte[PublicKey.Size];
        try
        {
            if (state.PrivateKey is { } privateKey)
            {
                reply.PrivateKey = Key32.From(privateKey);
                privateKey.Clear();
            }
            foreach (PeerSnapshot peer in state.Peers)
            {
                var p = new UapiPeerSnapshot
                {
                    Endpoint = peer.Endpoint ?? default,
                    LastHandshakeSeconds = peer.LastHandshakeSeconds,
                    LastHandshakeNanoseconds = peer.LastHandshakeNanoseconds,
                    TxBytes = (ulong)peer.TxBytes,
                    RxBytes = (ulong)peer.RxBytes,
                    PersistentKeepaliveInterval = peer.PersistentKeepaliveInterval,
                };
                peer.PublicKey.CopyTo(key);
                p.PublicKey = Key32.From(key);
                if (peer.PresharedKey is { } psk)
                {
                    p.PresharedKey = Key32.From(psk);
                    psk.Clear();
                }
                foreach (AllowedIp ip in peer.AllowedIps)
                    p.AllowedIps.Add(UapiAllowedIp.From(ip.Address, (byte)ip.Cidr));
                reply.Peers.Add(p);
            }
            writer.WriteDevice(reply);
        }
        finally
        {
            reply.PrivateKey.Clear();
            foreach (UapiPeerSnapshot p in reply.Peers)
                p.PresharedKey.Clear();
        }
    }

    public int Set(UapiSetRequest request)
    {
        var config = new DeviceConfig
        {
            ListenPort = request.ListenPort,
            FirewallMark = request.Fwmark,
            ReplacePeers = request.ReplacePeers,
        };
        try
        {
            if (request.HasPrivateKey)
                config.PrivateKey = Key32.From(request.PrivateKey);
            foreach (UapiPeerConfig p in request.Peers)
            {
                var peer = new PeerConfig(new PublicKey(p.PublicKey))
                {
                    Remove = p.Remove,
                    UpdateOnly = p.UpdateOnly,
                    Endpoint = p.Endpoint,
                    PersistentKeepaliveInterval = p.PersistentKeepaliveInterval,
                    ReplaceAllowedIps = p.ReplaceAllowedIps,
                };
                if (p.HasPresharedKey)
                    peer.PresharedKey = Key32.From(p.PresharedKey);
                foreach (UapiAllowedIp ip in p.AllowedIps)
                    peer.AllowedIps.Add(new AllowedIpChange(new AllowedIp(ip.ToIPAddress(), ip.Cidr), ip.Remove));
                config.Peers.Add(peer);
            }
            device.Configure(config);
        }
        catch (ArgumentException e)
        {
            Log.Error($"UAPI set rejected: {e.Message}");
            return UapiErrno.Invalid;
        }
        catch (PeerLimitException e)
        {
            Log.Error($"UAPI set refused: {e.Message}");
            return UapiErrno.NoSpace;
        }
        catch (Win32Exception e)
        {
            // The listen port could not be bound (in use, or not permitted): wireguard-go answers EADDRINUSE.
            Log.Error($"UAPI set failed: {e.Message}");
            return UapiErrno.PortInUse;
        }
        finally
        {
            config.ClearSecrets();
        }
        Changed?.Invoke();
        return 0;
    }
}
