using System.Device.Gpio;

namespace Router.Leds.Tests;

/// <summary>
/// A controller without its thread, on a virtual clock, over a real GpioController whose driver records
/// every level: the test plays the LED thread by calling <see cref="RunUntil"/>.
/// </summary>
internal sealed class GpioHarness : IDisposable
{
    public GpioHarness(LedOptions options, Func<GpioController>? gpioFactory = null, Func<string, ILedOutput>? boardLeds = null)
    {
        Driver = new RecordingGpioDriver(() => Clock.Now);
        Controller = new LedController(
            options,
            Log.Add,
            () => Clock.Now,
            gpioFactory ?? (() => new GpioController(Driver)),
            boardLeds ?? (name => throw new InvalidOperationException($"no on-board LED {name} in this test")),
            runThread: false);
    }

    public VirtualClock Clock { get; } = new();

    public RecordingGpioDriver Driver { get; }

    public LedController Controller { get; }

    public List<string> Log { get; } = [];

    public static LedOptions StatusOn(int pin, bool activeLow = false) =>
        new() { Board = "rpi4b", Status = LedTarget.Gpio(pin, activeLow) };

    /// <summary>Publishes <paramref name="snapshot"/> now, then runs every scheduler pass due up to <paramref name="until"/> (relative to now).</summary>
    public void Publish(LinkSnapshot snapshot, TimeSpan until)
    {
        Controller.Publish(snapshot);
        RunUntil(until);
    }

    /// <summary>Runs the scheduler now and at each instant it asks for, up to now + <paramref name="span"/>; the clock ends there.</summary>
    public void RunUntil(TimeSpan span)
    {
        TimeSpan end = Clock.Now + span;
        for (int passes = 0; passes < 10_000; passes++)
        {
            TimeSpan? next = Controller.RunOnce();
            if (next is not { } due || due > end)
            {
                Clock.Now = end;
                return;
            }

            Clock.Now = due > Clock.Now ? due : Clock.Now;
        }

        throw new InvalidOperationException("the scheduler never went idle");
    }

    /// <summary>The writes to <paramref name="pin"/> since <paramref name="since"/>, as (ms after since, high?).</summary>
    public (double Ms, bool High)[] WritesSince(TimeSpan since, int pin) =>
        Driver.Writes.Where(w => w.Pin == pin && w.At >= since)
            .Select(w => ((w.At - since).TotalMilliseconds, w.High))
            .ToArray();

    public void Dispose() => Controller.Dispose();
}
