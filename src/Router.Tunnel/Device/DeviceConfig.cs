using System.Net;
using System.Net.Sockets;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Tunnel;

/// <summary>
/// One configuration transaction, mirroring a UAPI <c>set=1</c> request: unset (null) values are left as they are.
/// <see cref="Device.Configure"/> applies it all at once with respect to the packet path.
/// </summary>
public sealed class DeviceConfig
{
    private Key32 _privateKey;
    private bool _hasPrivateKey;

    /// <summary>private_key; all zero removes the key. Stored here until <see cref="ClearSecrets"/>.</summary>
    public Key32? PrivateKey
    {
        get => _hasPrivateKey ? _privateKey : null;
        set
        {
            _hasPrivateKey = value.HasValue;
            _privateKey = value.GetValueOrDefault();
        }
    }

    /// <summary>listen_port; 0 lets the system choose.</summary>
    public ushort? ListenPort { get; set; }

    /// <summary>fwmark; 0 = off. Passed to the bind factory.</summary>
    public uint? FirewallMark { get; set; }

    /// <summary>replace_peers=true: remove every peer not (re)declared in this transaction first.</summary>
    public bool ReplacePeers { get; set; }

    public List<PeerConfig> Peers { get; } = new();

    /// <summary>Wipes every secret this transaction carries (call once applied).</summary>
    public void ClearSecrets()
    {
        _privateKey.Clear();
        foreach (PeerConfig peer in Peers)
            peer.ClearSecrets();
    }
}

/// <summary>A peer section of a UAPI <c>set=1</c> request, started by public_key.</summary>
public sealed class PeerConfig(PublicKey publicKey)
{
    public PublicKey PublicKey { get; } = publicKey;

    /// <summary>remove=true.</summary>
    public bool Remove { get; set; }

    /// <summary>update_only=true: do nothing if the peer does not exist.</summary>
    public bool UpdateOnly { get; set; }

    private Key32 _presharedKey;
    private bool _hasPresharedKey;

    /// <summary>preshared_key; all zero removes it. Stored here until <see cref="ClearSecrets"/>.</summary>
    public Key32? PresharedKey
    {
        get => _hasPresharedKey ? _presharedKey : null;
        set
        {
            _hasPresharedKey = value.HasValue;
            _presharedKey = value.GetValueOrDefault();
        }
    }

    public Endpoint? Endpoint { get; set; }

    /// <summary>persistent_keepalive_interval in seconds; 0 = off.</summary>
    public ushort? PersistentKeepaliveInterval { get; set; }

    /// <summary>replace_allowed_ips=true: drop the peer's allowed IPs before applying <see cref="AllowedIps"/>.</summary>
    public bool ReplaceAllowedIps { get; set; }

    /// <summary>allowed_ip lines in order; <see cref="AllowedIpChange.Remove"/> for a leading '-'.</summary>
    public List<AllowedIpChange> AllowedIps { get; } = new();

    public void ClearSecrets() => _presharedKey.Clear();
}

/// <summary>One allowed_ip line: add (or remove) a prefix.</summary>
public readonly record struct AllowedIpChange(AllowedIp Prefix, bool Remove = false);

/// <summary>An IP prefix such as 10.0.0.0/24 or fd00::/64.</summary>
public readonly record struct AllowedIp(IPAddress Address, int Cidr)
{
    public int MaxCidr => Address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;

    public bool IsValid => (Address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6) && Cidr >= 0 && Cidr <= MaxCidr;

    public static AllowedIp Parse(string text)
    {
        int slash = text.IndexOf('/');
        IPAddress address = IPAddress.Parse(slash < 0 ? text : text[..slash]);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        int cidr = slash < 0 ? (address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) : int.Parse(text[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var prefix = new AllowedIp(address, cidr);
        return prefix.IsValid ? prefix : throw new FormatException($"'{text}' is not an IP prefix.");
    }

    public override string ToString() => $"{Address}/{Cidr}";
}

/// <summary>What <c>get=1</c> reports about the device.</summary>
public sealed class DeviceSnapshot
{
    /// <summary>private_key, or null when none is set. The receiver clears it after use.</summary>
    public Key32? PrivateKey { get; init; }

    public PublicKey? PublicKey { get; init; }

    public ushort ListenPort { get; init; }

    public uint FirewallMark { get; init; }

    public required IReadOnlyList<PeerSnapshot> Peers { get; init; }
}

/// <summary>What <c>get=1</c> reports about one peer, plus state for LEDs and metrics.</summary>
public sealed class PeerSnapshot
{
    public PublicKey PublicKey { get; init; }

    /// <summary>preshared_key, or null when none is set. The receiver clears it after use.</summary>
    public Key32? PresharedKey { get; init; }

    public bool HasPresharedKey => PresharedKey is not null;

    public Endpoint? Endpoint { get; init; }

    public ushort PersistentKeepaliveInterval { get; init; }

    /// <summary>Wall-clock time of the latest completed handshake; null = never.</summary>
    public DateTime? LastHandshake { get; init; }

    /// <summary>last_handshake_time_sec (0 when never).</summary>
    public long LastHandshakeSeconds => LastHandshake is { } t ? (t - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerSecond : 0;

    /// <summary>last_handshake_time_nsec (0 when never).</summary>
    public long LastHandshakeNanoseconds => LastHandshake is { } t ? (t - DateTime.UnixEpoch).Ticks % TimeSpan.TicksPerSecond * 100 : 0;

    /// <summary>rx_bytes: WireGuard message bytes received (handshake and transport), as the kernel counts.</summary>
    public long RxBytes { get; init; }

    /// <summary>tx_bytes: WireGuard message bytes sent.</summary>
    public long TxBytes { get; init; }

    public required IReadOnlyList<AllowedIp> AllowedIps { get; init; }

    /// <summary>Initiations sent since the last completed handshake (LEDs: "searching").</summary>
    public int HandshakeAttempts { get; init; }

    /// <summary>Handshake initiations sent since the peer was added (metrics).</summary>
    public long InitiationsSent { get; init; }

    /// <summary>Handshakes completed since the peer was added, as initiator or responder (metrics).</summary>
    public long HandshakesCompleted { get; init; }

    /// <summary>Initiations that got no usable response within REKEY_TIMEOUT since the peer was added (metrics).</summary>
    public long HandshakeTimeouts { get; init; }

    /// <summary>A session able to send exists now.</summary>
    public bool HasSession { get; init; }

    public DateTime? LastReceive { get; init; }

    public DateTime? LastSend { get; init; }

    /// <summary>Live per-peer drop counters.</summary>
    public required DropCounters Drops { get; init; }
}
