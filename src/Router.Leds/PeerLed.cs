namespace Router.Leds;

/// <summary>The LED that shows one peer ("leds": { "peers": { "hq": { "gpio": 17 } } }).</summary>
/// <param name="Peer">The peer's name, as in <see cref="PeerSnapshot.Name"/>.</param>
/// <param name="Target">The LED; <see cref="LedTarget.SuggestedGpio"/> takes the profile's next free peer pin.</param>
public readonly record struct PeerLed(string Peer, LedTarget Target);
