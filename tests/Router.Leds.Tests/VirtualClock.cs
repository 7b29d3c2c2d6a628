namespace Router.Leds.Tests;

/// <summary>Time that moves only when a test says so.</summary>
internal sealed class VirtualClock
{
    public TimeSpan Now { get; set; } = TimeSpan.FromSeconds(1000);

    public static TimeSpan Ms(double milliseconds) => TimeSpan.FromMilliseconds(milliseconds);
}
