namespace Router.Leds;

/// <summary>
/// What routerd needs to know about one board to drive its LEDs. The profiles live in code
/// (<see cref="BoardProfiles"/>) so routerd reads no file at run time; board/*.json mirror them for people
/// and a test keeps the two equal.
/// </summary>
/// <param name="Name">The name the configuration uses ("leds": { "board": "rpi4b" }).</param>
/// <param name="Model">The board, as a person calls it.</param>
/// <param name="ActLed">The /sys/class/leds name of the green activity LED, or null if the board has none.</param>
/// <param name="PwrLed">The /sys/class/leds name of the red power LED, or null if Debian's device tree has none.</param>
/// <param name="GpioChipLabel">The label of the GPIO chip that owns the 40-pin header, looked up first.</param>
/// <param name="GpioChip">The gpiochip number used when no chip has that label.</param>
/// <param name="StatusGpio">Suggested header GPIO (BCM number) for an external status LED.</param>
/// <param name="PeerGpios">Suggested header GPIOs for per-peer LEDs, handed out in the order of <see cref="LedOptions.Peers"/>.</param>
/// <param name="ConfigTxtSection">The config.txt conditional filter for this board, e.g. "[pi4]".</param>
/// <param name="ConfigTxtLines">Lines for that section (through /etc/default/raspi-firmware-custom).</param>
/// <param name="Unverified">What could not be checked on real hardware; empty when everything was.</param>
public sealed record BoardProfile(
    string Name,
    string Model,
    string? ActLed,
    string? PwrLed,
    string GpioChipLabel,
    int GpioChip,
    int StatusGpio,
    IReadOnlyList<int> PeerGpios,
    string ConfigTxtSection,
    IReadOnlyList<string> ConfigTxtLines,
    string Unverified);
