using System.Device.Gpio;
using System.Runtime.InteropServices;

namespace Router.Leds.Tests;

/// <summary>Driver and chip choice, and the public constructor on a machine with no GPIO at all (like this one).</summary>
public sealed class GpioDriverProbeTests
{
    [Fact]
    public void The_header_chip_is_found_by_label_wherever_the_kernel_numbered_it()
    {
        GpioChipInfo[] pi5 =
        [
            new(0, "gpiochip0", "107d508500.gpio", 32),
            new(1, "gpiochip1", "107d517c00.gpio", 15),
            new(10, "gpiochip10", "pinctrl-rp1", 54),
        ];

        Assert.Equal(10, GpioDriverProbe.FindChip(pi5, BoardProfiles.Rpi5));
        Assert.Equal(4, GpioDriverProbe.FindChip([], BoardProfiles.Rpi5));
        Assert.Equal(0, GpioDriverProbe.FindChip([new(0, "gpiochip0", "pinctrl-bcm2711", 58)], BoardProfiles.Rpi4b));
    }

    [Fact]
    public void Without_libgpiod_the_real_controller_logs_once_and_keeps_running()
    {
        if (NativeLibrary.TryLoad("libgpiod.so.3", out IntPtr v2) || NativeLibrary.TryLoad("libgpiod.so.2", out v2))
        {
            NativeLibrary.Free(v2);
            return; // a machine with libgpiod would try a real chip; the other tests cover the logic
        }

        var log = new List<string>();
        using (var controller = new LedController(
            new LedOptions { Board = "rpi4b", Status = LedTarget.Gpio(17) },
            line => { lock (log) { log.Add(line); } }))
        {
            controller.Publish(Snapshots.One(Snapshots.Searching()));
            Assert.True(SpinWait.SpinUntil(() => { lock (log) { return log.Count > 0; } }, TimeSpan.FromSeconds(10)));
            for (int i = 0; i < 5; i++)
            {
                controller.Publish(Snapshots.One(Snapshots.Up(LedController.MonotonicNow())));
            }
        }

        lock (log)
        {
            string line = Assert.Single(log);
            Assert.Contains("gpio17 (status) disabled", line, StringComparison.Ordinal);
            Assert.Contains("libgpiod.so.3", line, StringComparison.Ordinal);
        }
    }
}
