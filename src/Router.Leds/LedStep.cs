namespace Router.Leds;

/// <summary>One step of a pattern: the LED lit or dark for a while.</summary>
/// <param name="On">Lit (true) or dark.</param>
/// <param name="Duration">How long; <see cref="Timeout.InfiniteTimeSpan"/> for a pattern that never changes.</param>
public readonly record struct LedStep(bool On, TimeSpan Duration);
