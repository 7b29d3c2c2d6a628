namespace Router.Leds;

/// <summary>
/// One physical LED. Called only from the LED thread, one call at a time. Any method may throw (no GPIO chip,
/// permission denied, pin busy): the caller disables the LED after logging once, nothing else stops.
/// </summary>
internal interface ILedOutput
{
    /// <summary>For logs, e.g. "gpio17" or "ACT".</summary>
    string Name { get; }

    /// <summary>Takes the LED over (claims the pin, sets the trigger to none); the LED is dark afterwards.</summary>
    void Open();

    /// <summary>Lights or darkens the LED; only called when the value changes.</summary>
    void Write(bool on);

    /// <summary>Gives the LED back as it was found (pin released dark, original trigger restored).</summary>
    void Close();
}
