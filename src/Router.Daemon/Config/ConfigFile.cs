namespace Router.Daemon.Config;

// The provider's view of router.json, as the configuration-binding source generator fills it: mutable, every field
// optional, no meaning attached. Nothing but ConfigValidator reads these; the daemon applies only RouterConfig.
// Every property here must appear in ConfigSchema and docs/router.schema.json (a test holds the three together).

/// <summary>The whole file.</summary>
internal sealed class ConfigFile
{
    public Dictionary<string, InterfaceSection>? Interfaces { get; set; }
    public LedsSection? Leds { get; set; }
    public ForwardingSection? Forwarding { get; set; }
    public MetricsSection? Metrics { get; set; }
    public StateSection? State { get; set; }
}

/// <summary><c>interfaces.NAME</c>.</summary>
internal sealed class InterfaceSection
{
    public string? PrivateKeyFile { get; set; }
    public int? ListenPort { get; set; }
    public long? Fwmark { get; set; }
    public List<string>? Addresses { get; set; }
    public int? Mtu { get; set; }
    public List<PeerSection>? Peers { get; set; }
}

/// <summary><c>interfaces.NAME.peers[i]</c>.</summary>
internal sealed class PeerSection
{
    public string? Name { get; set; }
    public string? PublicKey { get; set; }
    public string? PresharedKeyFile { get; set; }
    public string? Endpoint { get; set; }
    public List<string>? AllowedIps { get; set; }
    public int? PersistentKeepalive { get; set; }
}

/// <summary><c>leds</c>.</summary>
internal sealed class LedsSection
{
    public string? Board { get; set; }
    public string? Status { get; set; }
    public Dictionary<string, LedPinSection>? Peers { get; set; }
}

/// <summary><c>leds.peers.NAME</c>.</summary>
internal sealed class LedPinSection
{
    public int? Gpio { get; set; }
    public bool? ActiveLow { get; set; }
    public string? Led { get; set; }
}

/// <summary><c>forwarding</c>.</summary>
internal sealed class ForwardingSection
{
    public bool? Enabled { get; set; }
    public List<string>? Masquerade { get; set; }
    public bool? MssClamp { get; set; }
}

/// <summary><c>metrics</c>.</summary>
internal sealed class MetricsSection
{
    public bool? Enabled { get; set; }
    public string? Listen { get; set; }
}

/// <summary><c>state</c>.</summary>
internal sealed class StateSection
{
    public string? TimestampFloorFile { get; set; }
}
