using System.Device.Gpio;
using System.Device.Gpio.Drivers;
using System.Runtime.InteropServices;

namespace Router.Leds;

/// <summary>
/// Picks the GPIO driver that works on Debian's kernel. System.Device.Gpio's default choice on a Pi is the
/// register driver, which needs /dev/gpiomem (absent on Debian's kernel; /dev/mem is locked down), so the
/// character-device drivers are chosen by the libgpiod the image ships:
/// libgpiod.so.3 (libgpiod 2.x, Debian 13) → LibGpiodV2Driver, libgpiod.so.2 (libgpiod 1.6, Debian 12) → LibGpiodDriver.
/// The chip is found by its label (the header chip moved to RP1 on the Pi 5 and its number varies by kernel),
/// falling back to the profile's chip number.
/// </summary>
internal static class GpioDriverProbe
{
    public static GpioController CreateController(BoardProfile board, Action<string> log)
    {
        if (CanLoad("libgpiod.so.3"))
        {
            int chip = FindChip(LibGpiodV2Driver.GetAvailableChips(), board);
            log($"leds: GPIO through libgpiod.so.3 (LibGpiodV2Driver), gpiochip{chip}");
            return new GpioController(new LibGpiodV2Driver(chip));
        }

        if (CanLoad("libgpiod.so.2"))
        {
            int chip = FindChip(LibGpiodDriver.GetAvailableChips(), board);
            log($"leds: GPIO through libgpiod.so.2 (LibGpiodDriver), gpiochip{chip}");
            return new GpioController(new LibGpiodDriver(chip));
        }

        throw new DllNotFoundException(
            "neither libgpiod.so.3 (Debian 13: apt install libgpiod3) nor libgpiod.so.2 (Debian 12: apt install libgpiod2) is installed");
    }

    /// <summary>The chip whose label the profile names, else the profile's chip number.</summary>
    internal static int FindChip(IEnumerable<GpioChipInfo> chips, BoardProfile board)
    {
        foreach (GpioChipInfo chip in chips)
        {
            if (string.Equals(chip.Label, board.GpioChipLabel, StringComparison.Ordinal))
            {
                return chip.Id;
            }
        }

        return board.GpioChip;
    }

    private static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out IntPtr handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }
}
