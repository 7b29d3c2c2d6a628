using System.Net;

namespace Router.Daemon.Config;

/// <summary>
/// A validated configuration: immutable, complete (defaults filled in), with keys as bytes and never as strings.
/// Only <see cref="ConfigValidator"/> makes one, and only from a file without errors, so whoever holds one may apply
/// it. It owns the secrets it read from key files: dispose it when it is replaced.
/// </summary>
internal sealed record RouterConfig(
    IReadOnlyList<InterfaceConfig> Interfaces,
    LedsConfig? Leds,
    ForwardingConfig Forwarding,
    MetricsConfig Metrics,
    StateConfig State) : IDisposable
{
    public InterfaceConfig? Interface(string name) => Interfaces.FirstOrDefault(i => i.Name == name);

    public void Dispose()
    {
        foreach (var i in Interfaces)
        {
            i.PrivateKey.Dispose();
            foreach (var p in i.Peers)
                p.PresharedKey?.Dispose();
        }
    }
}

/// <summary>One WireGuard interface: its identity, where it listens, its addresses and its peers.</summary>
/// <param name="ListenPort">UDP port; null lets the kernel choose (as wg does without ListenPort).</param>
/// <param name="FwMark">Mark for outgoing UDP packets; 0 means none.</param>
/// <param name="Mtu">Tunnel MTU; 1420 unless given (room for IPv6 + UDP + WireGuard on a 1500-byte path).</param>
internal sealed record InterfaceConfig(
    string Name,
    string PrivateKeyFile,
    SecretKey PrivateKey,
    int? ListenPort,
    uint FwMark,
    IReadOnlyList<InterfaceAddress> Addresses,
    int Mtu,
    IReadOnlyList<PeerConfig> Peers)
{
    public const int DefaultMtu = 1420;

    public PeerConfig? Peer(PublicKey key) => Peers.FirstOrDefault(p => p.PublicKey == key);
}

/// <summary>A peer: identified by its public key (as in WireGuard); the name is for people, LEDs and logs.</summary>
/// <param name="PersistentKeepalive">Seconds between keepalives; 0 is off.</param>
internal sealed record PeerConfig(
    string Name,
    PublicKey PublicKey,
    string? PresharedKeyFile,
    SecretKey? PresharedKey,
    EndpointSpec? Endpoint,
    IReadOnlyList<IPNetwork> AllowedIps,
    int PersistentKeepalive);

/// <summary>LED assignments: the board profile, the LED that shows the router's state, and an LED per peer.</summary>
internal sealed record LedsConfig(string? Board, string? Status, IReadOnlyDictionary<string, LedPinConfig> Peers);

/// <summary>
/// One peer's LED: a GPIO line (<paramref name="Gpio"/>; active-low when the LED sits between the pin and 3.3 V), an
/// on-board LED (<paramref name="Led"/>: "act", "pwr" or "led:NAME"), or, with neither, the board's next suggested pin.
/// </summary>
internal sealed record LedPinConfig(int? Gpio, bool ActiveLow, string? Led = null);

/// <summary>Site-to-site forwarding: IP forwarding on, NAT out of the named interfaces, MSS clamping in the tunnel.</summary>
internal sealed record ForwardingConfig(bool Enabled, IReadOnlyList<string> Masquerade, bool MssClamp)
{
    public static readonly ForwardingConfig Off = new(false, [], false);
}

/// <summary>Where Prometheus metrics are served, if at all: a TCP endpoint or a unix socket path.</summary>
internal sealed record MetricsConfig(bool Enabled, string Listen, IPEndPoint? TcpEndpoint, string? UnixPath)
{
    public const string DefaultListen = "127.0.0.1:9586";

    public static readonly MetricsConfig Off = new(false, DefaultListen, new IPEndPoint(IPAddress.Loopback, 9586), null);
}

/// <summary>Files routerd keeps for itself between boots.</summary>
/// <param name="TimestampFloorFile">Where the handshake-timestamp floor persists (boards without a real-time clock).</param>
internal sealed record StateConfig(string TimestampFloorFile)
{
    public const string DefaultTimestampFloorFile = "/var/lib/router/timestamp-floor";

    public static readonly StateConfig Default = new(DefaultTimestampFloorFile);
}
