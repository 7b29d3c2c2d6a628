namespace Router.Leds;

/// <summary>
/// One LED resolved against the board profile: a concrete pin or /sys/class/leds name, and what it shows.
/// </summary>
/// <param name="Peer">The peer it shows, or null for the status LED (the whole router).</param>
/// <param name="Kind"><see cref="LedTargetKind.Gpio"/> or <see cref="LedTargetKind.OnBoard"/>.</param>
/// <param name="Pin">BCM GPIO number when Kind is Gpio.</param>
/// <param name="ActiveLow">The LED lights when the pin is low.</param>
/// <param name="SysfsName">The /sys/class/leds directory when Kind is OnBoard.</param>
internal readonly record struct LedBinding(string? Peer, LedTargetKind Kind, int Pin, bool ActiveLow, string? SysfsName)
{
    public string Shows => Peer is null ? "status" : $"peer {Peer}";
}
