using System.Text;

namespace Router.Leds;

/// <summary>
/// The supported boards. All share the 40-pin header layout, so the suggested pins are the same everywhere:
/// GPIO17 (pin 11, next to ground on pin 9) for status, then GPIO27, 22, 23, 24 (pins 13, 15, 16, 18) for peers,
/// none of which is used by I²C, SPI or the UART.
/// On-board LED names are the labels in Debian's (mainline) device trees, not Raspberry Pi OS's.
/// </summary>
public static class BoardProfiles
{
    private static readonly int[] PeerPins = [27, 22, 23, 24];

    // Header pins start as outputs driven low (LED dark) from power-on, before Linux and routerd run.
    private static readonly string[] PinLines = ["gpio=17,22,23,24,27=op,dl"];

    /// <summary>Raspberry Pi 3 Model B.</summary>
    public static BoardProfile Rpi3b { get; } = new(
        "rpi3b", "Raspberry Pi 3 Model B", ActLed: "ACT", PwrLed: null,
        GpioChipLabel: "pinctrl-bcm2835", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[pi3]", PinLines,
        "PWR: left out because Debian's bcm2837-rpi-3-b device tree is documented to expose only ACT "
        + "(the red LED hangs off the firmware GPIO expander); if a newer kernel adds it, name it as \"led:PWR\".");

    /// <summary>Raspberry Pi 4 Model B.</summary>
    public static BoardProfile Rpi4b { get; } = new(
        "rpi4b", "Raspberry Pi 4 Model B", ActLed: "ACT", PwrLed: "PWR",
        GpioChipLabel: "pinctrl-bcm2711", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[pi4]", PinLines,
        "");

    /// <summary>Raspberry Pi 5.</summary>
    public static BoardProfile Rpi5 { get; } = new(
        "rpi5", "Raspberry Pi 5", ActLed: "ACT", PwrLed: null,
        GpioChipLabel: "pinctrl-rp1", GpioChip: 4, StatusGpio: 17, PeerPins,
        "[pi5]", PinLines,
        "Header GPIO is on the RP1 (chip label pinctrl-rp1), supported upstream from Linux 6.17 (trixie-backports); "
        + "its gpiochip number depends on probe order (4 was common on 6.6-era kernels), so the label is looked up "
        + "and 4 is only a fallback. Upstream bcm2712-rpi-5-b.dts names only ACT (trigger mmc0); PWR is firmware-driven. "
        + "config.txt gpio= on the Pi 5 was not checked on hardware.");

    /// <summary>Compute Module 4 on the CM4 IO board (LEDs are on the IO board).</summary>
    public static BoardProfile Cm4 { get; } = new(
        "cm4", "Compute Module 4 (IO board)", ActLed: "ACT", PwrLed: "PWR",
        GpioChipLabel: "pinctrl-bcm2711", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[cm4]", PinLines,
        "ACT/PWR names taken from bcm2711-rpi-cm4-io.dts, not seen on hardware; other carrier boards may wire neither.");

    /// <summary>Raspberry Pi Zero 2 W.</summary>
    public static BoardProfile Zero2w { get; } = new(
        "zero2w", "Raspberry Pi Zero 2 W", ActLed: "ACT", PwrLed: null,
        GpioChipLabel: "pinctrl-bcm2835", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[pi02]", PinLines,
        "The board has a single (green) LED. The [pi02] filter is the firmware's name for the Zero 2 W; "
        + "whether [pi3] also matches it was not checked.");

    /// <summary>Every profile, in the order docs/LEDS.md lists them.</summary>
    public static IReadOnlyList<BoardProfile> All { get; } = [Rpi3b, Rpi4b, Rpi5, Cm4, Zero2w];

    /// <summary>Finds a profile by its configuration name (case-insensitive).</summary>
    public static bool TryGet(string name, out BoardProfile profile)
    {
        foreach (BoardProfile candidate in All)
        {
            if (string.Equals(candidate.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                profile = candidate;
                return true;
            }
        }

        profile = null!;
        return false;
    }

    /// <summary>
    /// The text for /etc/default/raspi-firmware-custom: raspi-firmware appends it to the config.txt it rewrites on
    /// every kernel install, so one image carries every board's lines in its own conditional section.
    /// </summary>
    public static string RaspiFirmwareCustom()
    {
        var text = new StringBuilder();
        text.Append("# routerd LED pins (generated from Router.Leds BoardProfiles; see docs/LEDS.md)\n");
        foreach (BoardProfile board in All)
        {
            text.Append(board.ConfigTxtSection).Append('\n');
            foreach (string line in board.ConfigTxtLines)
            {
                text.Append(line).Append('\n');
            }
        }

        // Back to unconditional so anything appended later applies to every board.
        text.Append("[all]\n");
        return text.ToString();
    }
}
