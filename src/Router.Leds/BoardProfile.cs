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
    string Unverified)
{
    /// <summary>
    /// The device tree the firmware loads on this board with the image's config.txt (upstream names), e.g.
    /// "bcm2711-rpi-cm4-io.dtb"; scripts/check-image.sh reads it from the built image and checks the LED names.
    /// </summary>
    public string DeviceTree { get; init; } = "";

    /// <summary>
    /// Where the tree has no LED class device for the board's status LED: the GPIO line that drives it, as the
    /// tree names it (the Pi 5's "2712_STAT_LED"); null when ACT/PWR cover it. routerd does not drive this line yet.
    /// </summary>
    public string? StatusLedGpioLine { get; init; }

    /// <summary>
    /// The status LED when the configuration names none: ACT, else PWR (the Pi 400 has only PWR), else none (the Pi 5's
    /// mainline tree has no LED class device), so a file without "status" is valid on every board.
    /// </summary>
    public LedTarget DefaultStatus => ActLed is not null ? LedTarget.Act : PwrLed is not null ? LedTarget.Pwr : LedTarget.None;
}
