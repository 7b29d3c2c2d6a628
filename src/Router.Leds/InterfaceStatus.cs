namespace Router.Leds;

/// <summary>The tunnel interface as the engine sees it on one tick.</summary>
public enum InterfaceStatus
{
    /// <summary>Not created (yet): shown as <see cref="LinkState.Down"/>.</summary>
    Missing = 0,

    /// <summary>Created and usable.</summary>
    Present = 1,

    /// <summary>Existed and disappeared under the running tunnel (deleted by someone): shown as <see cref="LinkState.Error"/>.</summary>
    Lost = 2,
}
