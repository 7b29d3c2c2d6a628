namespace Router.Leds.Tests;

/// <summary>An on-board LED stand-in for tests that are not about sysfs: records levels, can fail on open.</summary>
internal sealed class FakeLedOutput(string name, Exception? openFailure = null) : ILedOutput
{
    public string Name { get; } = name;

    public List<bool> Levels { get; } = [];

    public bool Closed { get; private set; }

    public void Open()
    {
        if (openFailure is not null)
        {
            throw openFailure;
        }
    }

    public void Write(bool on) => Levels.Add(on);

    public void Close() => Closed = true;
}
