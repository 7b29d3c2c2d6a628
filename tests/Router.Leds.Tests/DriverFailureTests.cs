using System.Device.Gpio;

namespace Router.Leds.Tests;

/// <summary>An LED that cannot be driven is logged once and left alone; every other LED and the caller carry on.</summary>
public sealed class DriverFailureTests
{
    private static LedOptions StatusAndPeer(LedTarget status) => new()
    {
        Board = "rpi4b",
        Status = status,
        Peers = [new PeerLed("hq", LedTarget.Gpio(27))],
    };

    [Fact]
    public void A_busy_pin_is_logged_once_and_the_other_leds_keep_going()
    {
        using var h = new GpioHarness(StatusAndPeer(LedTarget.Gpio(17)));
        h.Driver.BusyPins.Add(17);

        h.Publish(Snapshots.One(Snapshots.Searching()), TimeSpan.FromSeconds(3));

        Assert.Single(h.Log, line => line.Contains("gpio17", StringComparison.Ordinal) && line.Contains("disabled", StringComparison.Ordinal));
        Assert.True(h.Controller.Channels[0].Disabled);
        Assert.Equal(8, h.Driver.Writes.Count(w => w.Pin == 27)); // dark on open, lit, then an edge every 500 ms for 3 s
        Assert.DoesNotContain(h.Driver.Writes, w => w.Pin == 17);
    }

    [Fact]
    public void A_write_that_starts_failing_disables_only_that_led()
    {
        using var h = new GpioHarness(StatusAndPeer(LedTarget.Gpio(17)));
        h.Publish(Snapshots.One(Snapshots.Searching()), TimeSpan.FromSeconds(1));
        h.Driver.FailingWrites.Add(17);

        h.Publish(Snapshots.One(Snapshots.Searching()), TimeSpan.FromSeconds(5));

        Assert.Single(h.Log, line => line.Contains("gpio17", StringComparison.Ordinal));
        Assert.False(h.Controller.Channels[1].Disabled);
        Assert.Contains(h.Driver.Writes, w => w.Pin == 27 && w.At > h.Clock.Now - TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void No_gpio_at_all_leaves_the_onboard_led_working()
    {
        var board = new FakeLedOutput("ACT");
        using var h = new GpioHarness(
            StatusAndPeer(LedTarget.Act),
            gpioFactory: () => throw new DllNotFoundException("libgpiod.so.3 and libgpiod.so.2 missing"),
            boardLeds: _ => board);

        h.Publish(Snapshots.One(Snapshots.Up(h.Clock.Now)), TimeSpan.FromSeconds(2));

        Assert.Single(h.Log, line => line.Contains("gpio27", StringComparison.Ordinal) && line.Contains("libgpiod", StringComparison.Ordinal));
        Assert.Equal([true], board.Levels);
        h.Controller.Dispose();
        Assert.True(board.Closed);
    }

    [Fact]
    public void An_onboard_led_without_permission_leaves_the_gpio_led_working()
    {
        using var h = new GpioHarness(
            StatusAndPeer(LedTarget.Pwr),
            boardLeds: name => new FakeLedOutput(name, new UnauthorizedAccessException("Access to '/sys/class/leds/PWR/trigger' is denied.")));

        h.Publish(Snapshots.One(Snapshots.Up(h.Clock.Now)), TimeSpan.FromSeconds(2));
        h.Publish(Snapshots.One(Snapshots.Searching()), TimeSpan.FromSeconds(2));

        Assert.Single(h.Log, line => line.Contains("PWR", StringComparison.Ordinal));
        Assert.True(h.Driver.LevelOf(27) is not null);
        Assert.Equal(LinkState.Searching, h.Controller.Channels[1].State);
    }

    [Fact]
    public void With_its_thread_a_failing_driver_never_reaches_the_publisher()
    {
        var log = new List<string>();
        var driver = new RecordingGpioDriver();
        driver.BusyPins.Add(17);
        var ready = new ManualResetEventSlim();
        using (var controller = new LedController(
            StatusAndPeer(LedTarget.Gpio(17)),
            line => { lock (log) { log.Add(line); } },
            LedController.MonotonicNow,
            () => new GpioController(driver),
            boardLedFactory: null,
            runThread: true))
        {
            for (int i = 0; i < 20; i++)
            {
                controller.Publish(Snapshots.One(Snapshots.Up(LedController.MonotonicNow())));
            }

            Assert.True(SpinWait.SpinUntil(() => driver.LevelOf(27) == true, TimeSpan.FromSeconds(5)));
        }

        lock (log)
        {
            Assert.Single(log, line => line.Contains("gpio17", StringComparison.Ordinal));
        }

        Assert.False(driver.LevelOf(27)); // restored dark by the LED thread on the way out
    }
}
