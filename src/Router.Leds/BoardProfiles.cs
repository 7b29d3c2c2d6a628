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
        "PWR: bcm2837-rpi-3-b.dtb has only ACT (the red LED hangs off the firmware GPIO expander); checked in the "
        + "image's tree by scripts/check-image.sh, not on a board.")
    {
        DeviceTree = "bcm2837-rpi-3-b.dtb",
    };

    /// <summary>Raspberry Pi 3 Model B+ (its tree has ACT and PWR, unlike the 3 B's).</summary>
    public static BoardProfile Rpi3bPlus { get; } = new(
        "rpi3bplus", "Raspberry Pi 3 Model B+", ActLed: "ACT", PwrLed: "PWR",
        GpioChipLabel: "pinctrl-bcm2835", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[pi3+]", PinLines,
        "LED names from the image's bcm2837-rpi-3-b-plus.dtb, not seen on a board. [pi3+] also matches the 3 A+, "
        + "which boots its own tree (bcm2837-rpi-3-a-plus.dtb) and is not a supported board.")
    {
        DeviceTree = "bcm2837-rpi-3-b-plus.dtb",
    };

    /// <summary>Raspberry Pi 4 Model B.</summary>
    public static BoardProfile Rpi4b { get; } = new(
        "rpi4b", "Raspberry Pi 4 Model B", ActLed: "ACT", PwrLed: "PWR",
        GpioChipLabel: "pinctrl-bcm2711", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[pi4]", PinLines,
        "")
    {
        DeviceTree = "bcm2711-rpi-4-b.dtb",
    };

    /// <summary>Raspberry Pi 400 (keyboard computer; its tree has only the PWR LED).</summary>
    public static BoardProfile Rpi400 { get; } = new(
        "rpi400", "Raspberry Pi 400", ActLed: null, PwrLed: "PWR",
        GpioChipLabel: "pinctrl-bcm2711", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[pi400]", PinLines,
        "bcm2711-rpi-400.dtb names only PWR (no ACT): use \"status\": \"pwr\" or a GPIO LED. Not seen on a board.")
    {
        DeviceTree = "bcm2711-rpi-400.dtb",
    };

    /// <summary>Raspberry Pi 5.</summary>
    public static BoardProfile Rpi5 { get; } = new(
        "rpi5", "Raspberry Pi 5", ActLed: null, PwrLed: null,
        GpioChipLabel: "pinctrl-rp1", GpioChip: 4, StatusGpio: 17, PeerPins,
        "[pi5]", PinLines,
        "Header GPIO is on the RP1 (chip label pinctrl-rp1), supported upstream from Linux 6.17 (trixie-backports); "
        + "its gpiochip number depends on probe order (4 was common on 6.6-era kernels), so the label is looked up "
        + "and 4 is only a fallback. The mainline trees (bcm2712-rpi-5-b, bcm2712-d-rpi-5-b) have no gpio-leds node: "
        + "no ACT or PWR LED class device; the green status LED is line 9 of the always-on brcmstb GPIO controller "
        + "(gpio@7d517c00), named 2712_STAT_LED in the D0 tree only, which routerd does not drive yet; use a header GPIO LED. "
        + "config.txt gpio= on the Pi 5 was not checked on hardware.")
    {
        DeviceTree = "bcm2712-rpi-5-b.dtb",
        StatusLedGpioLine = "2712_STAT_LED",
    };

    /// <summary>Compute Module 4 on the CM4 IO board (LEDs are on the IO board).</summary>
    public static BoardProfile Cm4 { get; } = new(
        "cm4", "Compute Module 4 (IO board)", ActLed: "ACT", PwrLed: "PWR",
        GpioChipLabel: "pinctrl-bcm2711", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[cm4]", ["device_tree=bcm2711-rpi-cm4-io.dtb", .. PinLines],
        "ACT/PWR names read from the image's bcm2711-rpi-cm4-io.dtb, not seen on hardware; other carrier boards may "
        + "wire neither. device_tree= is pinned because the firmware otherwise loads the Pi 4 B tree on a CM4 with "
        + "upstream_kernel=1 (raspberrypi/firmware#1660), where the Ethernet PHY is at another MDIO address.")
    {
        DeviceTree = "bcm2711-rpi-cm4-io.dtb",
    };

    /// <summary>Raspberry Pi Zero 2 W.</summary>
    public static BoardProfile Zero2w { get; } = new(
        "zero2w", "Raspberry Pi Zero 2 W", ActLed: "ACT", PwrLed: null,
        GpioChipLabel: "pinctrl-bcm2835", GpioChip: 0, StatusGpio: 17, PeerPins,
        "[pi02]", PinLines,
        "The board has a single (green) LED. The [pi02] filter is the firmware's name for the Zero 2 W (it also sees "
        + "[pi0w] and [pi0], not [pi3]). Units with the 43436 Wi-Fi chip need brcmfmac43430b0 firmware that Debian "
        + "does not ship (docs/FIRMWARE.md).")
    {
        DeviceTree = "bcm2837-rpi-zero-2-w.dtb",
    };

    /// <summary>Every profile, in the order docs/LEDS.md lists them.</summary>
    public static IReadOnlyList<BoardProfile> All { get; } = [Rpi3b, Rpi3bPlus, Rpi4b, Rpi400, Rpi5, Cm4, Zero2w];

    // The image's own lines for every board, before the board sections: a headless gateway needs no splash and
    // no camera or display autodetection.
    private static readonly string[] HeadlessLines = ["disable_splash=1", "camera_auto_detect=0", "display_auto_detect=0"];

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
    /// every kernel install, so one image carries every board's lines in its own conditional section. The image
    /// build copies board/raspi-firmware-custom (this text) into the image; nothing else writes that file.
    /// </summary>
    public static string RaspiFirmwareCustom()
    {
        var text = new StringBuilder();
        text.Append("# Router image: lines raspi-firmware appends to config.txt (one image serves every supported board).\n");
        text.Append("# Generated from Router.Leds BoardProfiles (board/*.json): edit those, not this file. See docs/FIRMWARE.md.\n");
        text.Append("[all]\n");
        foreach (string line in HeadlessLines)
        {
            text.Append(line).Append('\n');
        }

        foreach (BoardProfile board in All)
        {
            text.Append("# ").Append(board.Model).Append(": boots ").Append(board.DeviceTree).Append('\n');
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
