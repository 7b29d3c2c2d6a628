namespace Router.Leds;

/// <summary>
/// What an LED says about a tunnel or a peer. Declared in rising precedence: when several apply
/// (a tunnel with one peer up and one searching), the highest value is shown.
/// </summary>
public enum LinkState
{
    /// <summary>Configured, no session, nothing to send: WireGuard only handshakes when there is traffic.</summary>
    Idle = 0,

    /// <summary>A live session: the current keypair is younger than <see cref="LinkStateModel.SessionLifetime"/>.</summary>
    Up = 1,

    /// <summary>Data packets (keepalives excluded) moved within <see cref="LinkStateModel.TrafficWindow"/>.</summary>
    Traffic = 2,

    /// <summary>Handshake initiations were sent and none was answered yet.</summary>
    Searching = 3,

    /// <summary>The tunnel interface does not exist (not created yet, or routerd is stopping).</summary>
    Down = 4,

    /// <summary>The configuration is invalid or the interface was lost under a running tunnel.</summary>
    Error = 5,
}
