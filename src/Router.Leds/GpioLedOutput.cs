using System.Device.Gpio;

namespace Router.Leds;

/// <summary>
/// An LED on a header pin. Active-high: pin → resistor → anode, cathode → ground, high lights it.
/// Active-low: 3.3 V → resistor → anode, cathode → pin, low lights it.
/// </summary>
internal sealed class GpioLedOutput : ILedOutput
{
    private readonly SharedGpioController _gpio;
    private readonly int _pin;
    private readonly bool _activeLow;
    private GpioController? _controller;

    public GpioLedOutput(SharedGpioController gpio, int pin, bool activeLow)
    {
        _gpio = gpio;
        _pin = pin;
        _activeLow = activeLow;
        Name = activeLow ? $"gpio{pin} (active-low)" : $"gpio{pin}";
    }

    public string Name { get; }

    public void Open()
    {
        GpioController controller = _gpio.Acquire();
        // Opening with the dark level avoids a glitch of light between claiming the pin and the first write.
        controller.OpenPin(_pin, PinMode.Output, Level(on: false));
        _controller = controller;
    }

    public void Write(bool on) => Controller.Write(_pin, Level(on));

    public void Close()
    {
        GpioController? controller = _controller;
        _controller = null;
        if (controller is null)
        {
            return;
        }

        try
        {
            controller.Write(_pin, Level(on: false));
        }
        finally
        {
            controller.ClosePin(_pin);
            _gpio.Release();
        }
    }

    private GpioController Controller => _controller ?? throw new InvalidOperationException($"{Name} is not open");

    private PinValue Level(bool on) => on != _activeLow ? PinValue.High : PinValue.Low;
}
