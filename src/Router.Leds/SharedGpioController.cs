using System.Device.Gpio;

namespace Router.Leds;

/// <summary>
/// The one GpioController every GPIO LED shares, made on first use and disposed with the last LED.
/// A failure to make it (no libgpiod, no chip, permission denied) is remembered, so each GPIO LED fails
/// fast with the same reason instead of probing again. LED thread only.
/// </summary>
internal sealed class SharedGpioController
{
    private readonly Func<GpioController> _create;
    private GpioController? _controller;
    private Exception? _failure;
    private int _users;

    public SharedGpioController(Func<GpioController> create) => _create = create;

    public GpioController Acquire()
    {
        if (_failure is not null)
        {
            throw new InvalidOperationException(_failure.Message, _failure);
        }

        try
        {
            _controller ??= _create();
        }
        catch (Exception e)
        {
            _failure = e;
            throw;
        }

        _users++;
        return _controller;
    }

    public void Release()
    {
        if (--_users == 0)
        {
            _controller?.Dispose();
            _controller = null;
        }
    }
}
