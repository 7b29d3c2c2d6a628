namespace Router.Leds;

/// <summary>
/// A pattern is a small table of steps played in a loop, starting from the first step at the moment the
/// state changes. A single step with an infinite duration is a steady LED: the scheduler never wakes for it.
/// </summary>
public sealed class LedPattern
{
    private readonly LedStep[] _steps;

    private LedPattern(string name, LedStep[] steps)
    {
        Name = name;
        _steps = steps;
    }

    /// <summary>The name docs/LEDS.md uses, e.g. "slow blink".</summary>
    public string Name { get; }

    /// <summary>The steps, played in order and repeated.</summary>
    public ReadOnlySpan<LedStep> Steps => _steps;

    /// <summary>Dark, never changes (down).</summary>
    public static LedPattern Off { get; } = Steady("off", on: false);

    /// <summary>Lit, never changes (up).</summary>
    public static LedPattern Solid { get; } = Steady("solid", on: true);

    /// <summary>A 100 ms blip every 3 s: alive and configured, nothing to send (idle).</summary>
    public static LedPattern Blip { get; } = Looping("blip", (true, 100), (false, 2900));

    /// <summary>1 Hz, half on: looking for the peer (searching).</summary>
    public static LedPattern SlowBlink { get; } = Looping("slow blink", (true, 500), (false, 500));

    /// <summary>Mostly lit with a short dark gap every 300 ms, like a disk light (traffic).</summary>
    public static LedPattern Flicker { get; } = Looping("flicker", (true, 250), (false, 50));

    /// <summary>5 Hz, half on: something is wrong (error).</summary>
    public static LedPattern FastBlink { get; } = Looping("fast blink", (true, 100), (false, 100));

    /// <summary>The pattern that shows <paramref name="state"/>: the table in docs/LEDS.md.</summary>
    public static LedPattern For(LinkState state) => state switch
    {
        LinkState.Idle => Blip,
        LinkState.Up => Solid,
        LinkState.Traffic => Flicker,
        LinkState.Searching => SlowBlink,
        LinkState.Down => Off,
        LinkState.Error => FastBlink,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown link state"),
    };

    /// <inheritdoc/>
    public override string ToString() => Name;

    private static LedPattern Steady(string name, bool on) =>
        new(name, [new LedStep(on, Timeout.InfiniteTimeSpan)]);

    private static LedPattern Looping(string name, params (bool On, int Milliseconds)[] steps)
    {
        var table = new LedStep[steps.Length];
        for (int i = 0; i < steps.Length; i++)
        {
            table[i] = new LedStep(steps[i].On, TimeSpan.FromMilliseconds(steps[i].Milliseconds));
        }

        return new LedPattern(name, table);
    }
}
