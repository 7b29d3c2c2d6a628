namespace Router.Leds;

/// <summary>One tunnel (interface) and its peers as the engine saw them on one tick.</summary>
/// <param name="InterfaceName">For example "wg0".</param>
/// <param name="Interface">Whether the interface exists.</param>
/// <param name="ConfigurationValid">False when the configuration for this tunnel failed validation.</param>
/// <param name="Peers">Every configured peer; the list is read, never modified, by the LED thread.</param>
public sealed record TunnelSnapshot(
    string InterfaceName,
    InterfaceStatus Interface,
    bool ConfigurationValid,
    IReadOnlyList<PeerSnapshot> Peers);
