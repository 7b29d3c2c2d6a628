using Router.Tunnel.IO;

namespace Router.Tunnel;

// Where rejected handshakes come from, for the daemon's tunnel-health log (issue 16): kept apart from the receive
// path, which only calls RecordRejected.
public sealed partial class Device
{
    private readonly RejectedSources _badMac1Sources = new();
    private readonly RejectedSources _unknownKeySources = new();

    /// <summary>How many entries <see cref="CopyBadMac1Sources"/> and <see cref="CopyUnknownKeySources"/> give at most.</summary>
    public const int RejectedSourceCapacity = RejectedSources.Capacity;

    /// <summary>
    /// The last few source addresses of handshake messages dropped for a bad mac1: made for another public key than
    /// this device's, so the sender has the wrong key for us. Returns how many were copied.
    /// </summary>
    public int CopyBadMac1Sources(Span<RejectedSource> destination) => _badMac1Sources.CopyTo(destination);

    /// <summary>
    /// The last few source addresses of initiations with a valid mac1 from a static key no peer has: meant for us, from
    /// a key we do not know, so our entry for that sender has the wrong key (or it is not configured). Returns how many.
    /// </summary>
    public int CopyUnknownKeySources(Span<RejectedSource> destination) => _unknownKeySources.CopyTo(destination);

    /// <summary>For every dropped handshake message (any lock or none: the tables lock themselves); keeps the two attributable reasons.</summary>
    private void RecordRejected(DropReason reason, in Endpoint source, long now)
    {
        if (reason == DropReason.BadMac1)
            _badMac1Sources.Record(source, now);
        else if (reason == DropReason.NoPeer)
            _unknownKeySources.Record(source, now);
    }
}
