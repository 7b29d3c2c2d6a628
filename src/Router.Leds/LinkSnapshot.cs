namespace Router.Leds;

/// <summary>
/// Everything the LEDs need, filled by the engine once per timer tick and handed over whole through
/// <see cref="LedController.Publish"/>: immutable once published, so the LED thread reads it without locks.
/// </summary>
public sealed record LinkSnapshot(IReadOnlyList<TunnelSnapshot> Tunnels)
{
    /// <summary>No tunnel at all: every LED shows <see cref="LinkState.Down"/>.</summary>
    public static LinkSnapshot Empty { get; } = new([]);
}
