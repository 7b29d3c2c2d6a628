namespace Router.Leds;

/// <summary>
/// One LED and where its pattern is: the state it shows, the step it is on and when that step ends.
/// It writes only when the lit/dark value changes. The first failure of its output is logged and the LED is
/// switched off for good; nothing else notices. LED thread only.
/// </summary>
internal sealed class LedChannel
{
    private readonly ILedOutput _output;
    private readonly Action<string> _log;
    private bool _opened;
    private bool? _written;
    private int _step;

    public LedChannel(LedBinding binding, ILedOutput output, Action<string> log)
    {
        Binding = binding;
        _output = output;
        _log = log;
    }

    public LedBinding Binding { get; }

    /// <summary>The state shown; null before the first update.</summary>
    public LinkState? State { get; private set; }

    /// <summary>When the current step ends; <see cref="TimeSpan.MaxValue"/> for a steady pattern.</summary>
    public TimeSpan StepEndsAt { get; private set; } = TimeSpan.MaxValue;

    /// <summary>True after the output failed once.</summary>
    public bool Disabled { get; private set; }

    /// <summary>Shows <paramref name="state"/> at <paramref name="now"/>: restarts the pattern on a change, else moves it on.</summary>
    public void Update(LinkState state, TimeSpan now)
    {
        if (Disabled)
        {
            return;
        }

        LedPattern pattern = LedPattern.For(state);
        if (State != state)
        {
            State = state;
            _step = 0;
            StepEndsAt = End(now, pattern.Steps[0]);
        }
        else
        {
            Advance(pattern.Steps, now);
        }

        Write(pattern.Steps[_step].On);
    }

    /// <summary>Gives the LED back (dark pin released, original trigger restored).</summary>
    public void Close()
    {
        if (!_opened)
        {
            return;
        }

        _opened = false;
        try
        {
            _output.Close();
        }
        catch (Exception e)
        {
            _log($"leds: {_output.Name} ({Binding.Shows}) could not be restored: {e.Message}");
        }
    }

    // Best effort after a failure that was already logged: one line per broken LED is enough.
    private void ReleaseQuietly()
    {
        if (!_opened)
        {
            return;
        }

        _opened = false;
        try
        {
            _output.Close();
        }
        catch (Exception)
        {
        }
    }

    private void Advance(ReadOnlySpan<LedStep> steps, TimeSpan now)
    {
        // After a long stall (a suspended process, a slow write) restart the step instead of replaying the backlog.
        if (StepEndsAt != TimeSpan.MaxValue && now - StepEndsAt > TimeSpan.FromSeconds(10))
        {
            StepEndsAt = End(now, steps[_step]);
            return;
        }

        while (StepEndsAt <= now)
        {
            _step = (_step + 1) % steps.Length;
            StepEndsAt = End(StepEndsAt, steps[_step]);
        }
    }

    private static TimeSpan End(TimeSpan start, LedStep step) =>
        step.Duration == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : start + step.Duration;

    private void Write(bool on)
    {
        if (_written == on)
        {
            return;
        }

        try
        {
            if (!_opened)
            {
                _output.Open();
                _opened = true;
                _written = false; // Open leaves the LED dark.
                if (!on)
                {
                    return;
                }
            }

            _output.Write(on);
            _written = on;
        }
        catch (Exception e)
        {
            Disabled = true;
            StepEndsAt = TimeSpan.MaxValue;
            _log($"leds: {_output.Name} ({Binding.Shows}) disabled: {e.Message}");
            ReleaseQuietly();
        }
    }
}
