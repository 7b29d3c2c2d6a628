using Iot.Device.BoardLed;

namespace Router.Leds;

/// <summary>
/// An on-board LED under /sys/class/leds (ACT, PWR) through Iot.Device.Bindings' BoardLed. While routerd
/// drives it the kernel trigger is "none", otherwise the kernel would keep blinking it for mmc0 or
/// heartbeat; the trigger and brightness it had are put back on close.
/// </summary>
internal sealed class BoardLedOutput : ILedOutput
{
    private const string NoTrigger = "none";

    // Where BoardLed looks; it has no way to change it.
    private const string LedClassDirectory = "/sys/class/leds";

    private BoardLed? _led;
    private string _originalTrigger = NoTrigger;
    private int _originalBrightness;
    private int _maxBrightness;

    public BoardLedOutput(string sysfsName) => Name = sysfsName;

    public string Name { get; }

    public void Open()
    {
        var led = new BoardLed(Name);
        try
        {
            _originalTrigger = led.Trigger;
            _originalBrightness = led.Brightness;
            _maxBrightness = Math.Max(1, led.MaxBrightness);
            led.Trigger = NoTrigger;
            led.Brightness = 0;
        }
        catch
        {
            led.Dispose();
            throw;
        }

        _led = led;
    }

    public void Write(bool on) =>
        (_led ?? throw new InvalidOperationException($"{Name} is not open")).Brightness = on ? _maxBrightness : 0;

    public void Close()
    {
        BoardLed? led = _led;
        _led = null;
        if (led is null)
        {
            return;
        }

        bool restored = false;
        try
        {
            // Brightness first: with a trigger such as default-on the kernel sets it again anyway,
            // and with "none" it is the only thing that says how the LED was.
            led.Brightness = _originalBrightness;
            if (_originalTrigger.Length == 0 || _originalTrigger == NoTrigger)
            {
                restored = true;
            }
            else
            {
                led.Trigger = _originalTrigger;
                restored = true;
            }
        }
        catch (Exception) when (!restored)
        {
            // BoardLed only accepts a trigger it finds in the list it reads back, and it splits that list on
            // spaces, so the last entry keeps the kernel's trailing newline and never matches. The kernel itself
            // accepts the name, so write it directly once BoardLed has let go of the file.
        }
        finally
        {
            led.Dispose();
        }

        if (!restored)
        {
            File.WriteAllText($"{LedClassDirectory}/{Name}/trigger", _originalTrigger);
        }
    }
}
