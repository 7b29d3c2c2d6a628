namespace Router.Leds.Tests;

/// <summary>Short ways to write the snapshots the engine would publish.</summary>
internal static class Snapshots
{
    public static LinkSnapshot One(PeerSnapshot peer, InterfaceStatus status = InterfaceStatus.Present, bool valid = true) =>
        new([new TunnelSnapshot("wg0", status, valid, [peer])]);

    public static PeerSnapshot Idle(string name = "hq") => new(name, null, 0, null, null);

    public static PeerSnapshot Searching(string name = "hq", int attempts = 1) => new(name, null, attempts, null, null);

    public static PeerSnapshot Up(TimeSpan handshake, string name = "hq") => new(name, handshake, 0, null, null);

    public static PeerSnapshot Traffic(TimeSpan handshake, TimeSpan lastPacket, string name = "hq") =>
        new(name, handshake, 0, lastPacket, lastPacket);
}
