namespace Router.Tunnel;

// Where rejected handshakes come from, for the daemon's tunnel-health log (issue 16): kept apart from the receive
// path, which only calls Record.
public sealed partial class Device
{
    private readonly RejectedSources _badMac1Sources = new();

    /// <summary>How many entries <see cref="CopyBadMac1Sources"/> gives at most.</summary>
    public const int BadMac1SourceCapacity = RejectedSources.Capacity;

    /// <summary>
    /// The last few (at most <see cref="BadMac1SourceCapacity"/>) source addresses of handshake messages dropped
    /// for a bad mac1, i.e. meant for another public key than this device's. LastSeen is on the device clock.
    /// Returns how many were copied.
    /// </summary>
    public int CopyBadMac1Sources(Span<RejectedSource> destination)
    {
        lock (_lock)
            return _badMac1Sources.CopyTo(destination);
    }
}
