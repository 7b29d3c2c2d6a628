using System.Device.Gpio;

namespace Router.Leds.Tests;

/// <summary>
/// A GPIO driver with no hardware behind it: it records every level written so a test can compare the
/// pin sequence with the one docs/LEDS.md promises, and can be told to fail like a busy pin would.
/// </summary>
internal sealed class RecordingGpioDriver : GpioDriver
{
    private readonly Dictionary<int, PinMode> _modes = [];
    private readonly Dictionary<int, PinValue> _values = [];

    private readonly List<PinWrite> _writes = [];
    private readonly Func<TimeSpan> _clock;

    public RecordingGpioDriver(Func<TimeSpan>? clock = null) => _clock = clock ?? (() => TimeSpan.Zero);

    /// <summary>Every write in order, including the initial level set when a pin is opened. Safe from any thread.</summary>
    public PinWrite[] Writes
    {
        get
        {
            lock (_writes)
            {
                return [.. _writes];
            }
        }
    }

    /// <summary>Pins whose OpenPin throws, as the kernel does with EBUSY when another process holds the line.</summary>
    public HashSet<int> BusyPins { get; } = [];

    /// <summary>Pins whose writes throw, as after the chip went away.</summary>
    public HashSet<int> FailingWrites { get; } = [];

    public HashSet<int> OpenPins { get; } = [];

    /// <summary>The level a pin was last driven to, or null if never.</summary>
    public bool? LevelOf(int pin)
    {
        lock (_writes)
        {
            int last = _writes.FindLastIndex(w => w.Pin == pin);
            return last < 0 ? null : _writes[last].High;
        }
    }

    public bool Disposed { get; private set; }

    protected override int PinCount => 54;

    protected override void OpenPin(int pinNumber)
    {
        if (BusyPins.Contains(pinNumber))
        {
            throw new IOException($"Device or resource busy: pin {pinNumber}");
        }

        OpenPins.Add(pinNumber);
    }

    protected override void ClosePin(int pinNumber) => OpenPins.Remove(pinNumber);

    protected override void SetPinMode(int pinNumber, PinMode mode) => _modes[pinNumber] = mode;

    protected override void SetPinMode(int pinNumber, PinMode mode, PinValue initialValue)
    {
        _modes[pinNumber] = mode;
        Write(pinNumber, initialValue);
    }

    protected override PinMode GetPinMode(int pinNumber) => _modes.GetValueOrDefault(pinNumber, PinMode.Input);

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber) => _values.GetValueOrDefault(pinNumber, PinValue.Low);

    protected override void Write(int pinNumber, PinValue value)
    {
        if (FailingWrites.Contains(pinNumber))
        {
            throw new IOException($"No such device: pin {pinNumber}");
        }

        _values[pinNumber] = value;
        lock (_writes)
        {
            _writes.Add(new PinWrite(_clock(), pinNumber, value == PinValue.High));
        }
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        throw new NotSupportedException();

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        throw new NotSupportedException();

    public override GpioChipInfo GetChipInfo() => new(0, "gpiochip0", "recording", PinCount);

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}
