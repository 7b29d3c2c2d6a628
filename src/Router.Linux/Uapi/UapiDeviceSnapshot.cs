using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Linux.Uapi;

/// <summary>The state a <c>get=1</c> reply shows, taken by the device under its own locks.</summary>
public sealed class UapiDeviceSnapshot
{
    /// <summary>All zero when unset (then not printed).</summary>
    public Key32 PrivateKey;

    public ushort ListenPort { get; set; }

    public uint Fwmark { get; set; }

    public List<UapiPeerSnapshot> Peers { get; } = [];
}

/// <summary>One peer in a <see cref="UapiDeviceSnapshot"/>.</summary>
public sealed class UapiPeerSnapshot
{
    public Key32 PublicKey;

    /// <summary>All zero when there is none (printed as zeros, as wireguard-go does).</summary>
    public Key32 PresharedKey;

    public Endpoint Endpoint { get; set; }

    /// <summary>Unix time of the last handshake; zero when none.</summary>
    public long LastHandshakeSeconds { get; set; }

    public long LastHandshakeNanoseconds { get; set; }

    /// <summary>WireGuard payload bytes sent (handshakes and transport messages), as the kernel counts.</summary>
    public ulong TxBytes { get; set; }

    public ulong RxBytes { get; set; }

    public ushort PersistentKeepaliveInterval { get; set; }

    public List<UapiAllowedIp> AllowedIps { get; } = [];
}
