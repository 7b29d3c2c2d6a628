using System.Globalization;

namespace Router.Leds;

/// <summary>
/// Which LED shows a state. Text forms (for the configuration's "status" string):
/// "none", "act", "pwr", "led:NAME" (any /sys/class/leds name), "gpio" (the profile's suggestion),
/// "gpio17", "gpio17:active-low".
/// </summary>
public readonly record struct LedTarget
{
    private LedTarget(LedTargetKind kind, int pin, bool activeLow, string? ledName)
    {
        Kind = kind;
        Pin = pin;
        ActiveLow = activeLow;
        LedName = ledName;
    }

    /// <summary>The kind of LED.</summary>
    public LedTargetKind Kind { get; }

    /// <summary>BCM GPIO number for <see cref="LedTargetKind.Gpio"/>.</summary>
    public int Pin { get; }

    /// <summary>The LED lights when the pin is low (wired from 3.3 V to the pin).</summary>
    public bool ActiveLow { get; }

    /// <summary>"act", "pwr" or an exact /sys/class/leds name for <see cref="LedTargetKind.OnBoard"/>.</summary>
    public string? LedName { get; }

    /// <summary>No LED.</summary>
    public static LedTarget None => default;

    /// <summary>The on-board activity LED of the board profile.</summary>
    public static LedTarget Act => OnBoard("act");

    /// <summary>The on-board power LED of the board profile.</summary>
    public static LedTarget Pwr => OnBoard("pwr");

    /// <summary>The board profile's suggested GPIO.</summary>
    public static LedTarget SuggestedGpio(bool activeLow = false) => new(LedTargetKind.SuggestedGpio, 0, activeLow, null);

    /// <summary>An LED on header GPIO <paramref name="pin"/> (BCM numbering, as in "GPIO17").</summary>
    public static LedTarget Gpio(int pin, bool activeLow = false) => new(LedTargetKind.Gpio, pin, activeLow, null);

    /// <summary>An LED under /sys/class/leds: "act", "pwr", or the exact directory name.</summary>
    public static LedTarget OnBoard(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return new(LedTargetKind.OnBoard, 0, false, name);
    }

    /// <summary>Reads the text forms listed on the type; false (and <see cref="None"/>) for anything else.</summary>
    public static bool TryParse(string? text, out LedTarget target)
    {
        target = None;
        string value = (text ?? string.Empty).Trim();
        if (value.Length == 0 || value.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return value.Length > 0;
        }

        if (value.Equals("act", StringComparison.OrdinalIgnoreCase) || value.Equals("pwr", StringComparison.OrdinalIgnoreCase))
        {
            target = OnBoard(value.ToLowerInvariant());
            return true;
        }

        if (value.StartsWith("led:", StringComparison.OrdinalIgnoreCase))
        {
            string name = value[4..];
            if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
            {
                return false;
            }

            target = OnBoard(name);
            return true;
        }

        if (!value.StartsWith("gpio", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        ReadOnlySpan<char> rest = value.AsSpan(4);
        bool activeLow = false;
        const string ActiveLowSuffix = ":active-low";
        if (rest.EndsWith(ActiveLowSuffix, StringComparison.OrdinalIgnoreCase))
        {
            activeLow = true;
            rest = rest[..^ActiveLowSuffix.Length];
        }

        if (rest.Length == 0)
        {
            target = SuggestedGpio(activeLow);
            return true;
        }

        if (!int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out int pin))
        {
            return false;
        }

        target = Gpio(pin, activeLow);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        LedTargetKind.Gpio => ActiveLow ? $"gpio{Pin}:active-low" : $"gpio{Pin}",
        LedTargetKind.SuggestedGpio => ActiveLow ? "gpio:active-low" : "gpio",
        LedTargetKind.OnBoard => LedName is "act" or "pwr" ? LedName : $"led:{LedName}",
        _ => "none",
    };
}
