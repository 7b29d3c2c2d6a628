namespace Router.Leds.Tests;

/// <summary>One level driven onto a pin, with the (virtual) time it happened.</summary>
internal readonly record struct PinWrite(TimeSpan At, int Pin, bool High)
{
    public override string ToString() => $"{At.TotalMilliseconds}ms gpio{Pin}={(High ? "high" : "low")}";
}
