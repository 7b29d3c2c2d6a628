namespace Router.Leds;

/// <summary>
/// One peer as the engine saw it on one tick. Times are instants on the monotonic clock given to
/// <see cref="LedController"/> (by default <see cref="LedController.MonotonicNow"/>); null means "never".
/// </summary>
/// <param name="Name">The peer's name from the configuration; LED bindings refer to it.</param>
/// <param name="LastHandshake">When the current keypair was made (handshake completed), or null.</param>
/// <param name="UnansweredHandshakes">Initiations sent since the last completed handshake; 0 when none is pending.</param>
/// <param name="LastDataReceived">Last authenticated data packet received; keepalives excluded so a persistent keepalive does not look like traffic.</param>
/// <param name="LastDataSent">Last data packet sent; keepalives excluded.</param>
public readonly record struct PeerSnapshot(
    string Name,
    TimeSpan? LastHandshake,
    int UnansweredHandshakes,
    TimeSpan? LastDataReceived,
    TimeSpan? LastDataSent);
