using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Linux.Uapi;

/// <summary>
/// A parsed <c>set=1</c> request: the device settings, then one entry per <c>public_key=</c> section in the order sent
/// (the same key may appear twice; apply in order, as wireguard-go does line by line).
/// Dispose wipes the private and pre-shared keys.
/// </summary>
public sealed class UapiSetRequest : IDisposable
{
    /// <summary>private_key was given; an all-zero key means "remove the private key".</summary>
    public bool HasPrivateKey { get; internal set; }

    public Key32 PrivateKey;

    public ushort? ListenPort { get; internal set; }

    /// <summary>fwmark; 0 turns it off.</summary>
    public uint? Fwmark { get; internal set; }

    /// <summary>replace_peers=true: remove every peer before applying <see cref="Peers"/>.</summary>
    public bool ReplacePeers { get; internal set; }

    public List<UapiPeerConfig> Peers { get; } = [];

    public void Dispose()
    {
        PrivateKey.Clear();
        foreach (UapiPeerConfig peer in Peers)
            peer.PresharedKey.Clear();
    }
}

/// <summary>One <c>public_key=</c> section of a set request.</summary>
public sealed class UapiPeerConfig
{
    public Key32 PublicKey;

    /// <summary>remove=true: remove this peer (every other field of the section is then moot).</summary>
    public bool Remove { get; internal set; }

    /// <summary>update_only=true: change the peer only if it exists; never create it.</summary>
    public bool UpdateOnly { get; internal set; }

    /// <summary>preshared_key was given; all zero means "no pre-shared key".</summary>
    public bool HasPresharedKey { get; internal set; }

    public Key32 PresharedKey;

    public Endpoint? Endpoint { get; internal set; }

    public ushort? PersistentKeepaliveInterval { get; internal set; }

    /// <summary>replace_allowed_ips=true: drop the peer's allowed IPs before applying <see cref="AllowedIps"/>.</summary>
    public bool ReplaceAllowedIps { get; internal set; }

    /// <summary>Allowed IP changes in order: adds, and removals where <see cref="UapiAllowedIp.Remove"/> is set.</summary>
    public List<UapiAllowedIp> AllowedIps { get; } = [];

    public int? ProtocolVersion { get; internal set; }
}
