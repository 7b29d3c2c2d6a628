namespace Router.Leds;

/// <summary>What kind of LED a <see cref="LedTarget"/> names.</summary>
public enum LedTargetKind
{
    /// <summary>No LED.</summary>
    None = 0,

    /// <summary>A header GPIO with an LED wired to it.</summary>
    Gpio = 1,

    /// <summary>The board profile's suggested GPIO (status pin, or the next free peer pin).</summary>
    SuggestedGpio = 2,

    /// <summary>An LED under /sys/class/leds: "act", "pwr" (resolved through the board profile) or an exact name.</summary>
    OnBoard = 3,
}
