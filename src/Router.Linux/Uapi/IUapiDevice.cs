namespace Router.Linux.Uapi;

/// <summary>
/// What the UAPI server drives: the daemon's device (or a test fake). The server serializes calls, so an
/// implementation sees one Get or Set at a time.
/// </summary>
public interface IUapiDevice
{
    /// <summary>Writes the device state (usually <see cref="UapiWriter.WriteDevice"/> of a snapshot). The server adds "errno=0".</summary>
    void Get(UapiWriter writer);

    /// <summary>
    /// Applies a parsed, valid set request in order and returns 0 or a negative errno (<see cref="UapiErrno"/>).
    /// The request's secrets are wiped when this returns: copy what must be kept.
    /// </summary>
    /// <remarks>
    /// wireguard-go semantics to keep: a section whose public key is the device's own is ignored; update_only on a
    /// peer that does not exist creates nothing; remove wins over every other field of its section; a listen_port or
    /// fwmark the sockets refuse answers <see cref="UapiErrno.PortInUse"/>.
    /// </remarks>
    int Set(UapiSetRequest request);

    /// <summary>
    /// routerd's own <c>get=drops</c> (wg(8) never sends it, and rejects keys it does not know in a <c>get=1</c> reply,
    /// so the drops cannot ride there): one <c>REASON=COUNT</c> line per reason that counted. The server adds "errno=0".
    /// </summary>
    void GetDrops(UapiWriter writer) { }
}
