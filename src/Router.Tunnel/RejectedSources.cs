using Router.Tunnel.IO;

namespace Router.Tunnel;

/// <summary>One source address of rejected handshake messages: how many, and when the last one came.</summary>
/// <param name="Endpoint">The source of the latest such message (address and port).</param>
/// <param name="Count">Messages from this address since it entered the table.</param>
/// <param name="LastSeen">Monotonic ticks of the device clock when the latest one came.</param>
public readonly record struct RejectedSource(Endpoint Endpoint, long Count, long LastSeen);

/// <summary>
/// The last few source addresses of handshake messages dropped for a bad mac1, with counts: enough for the daemon to
/// say "your peer's endpoint sends handshakes for another public key" (one side has the wrong key). Fixed size, no
/// allocation per packet; a new address evicts the one seen longest ago, so a flood of spoofed sources only churns
/// the table. Keyed by address alone: a NAT may change the port. Not thread-safe: the device's lock guards it.
/// </summary>
internal sealed class RejectedSources
{
    public const int Capacity = 8;

    private readonly RejectedSource[] _entries = new RejectedSource[Capacity];
    private int _count;

    public void Record(in Endpoint source, long now)
    {
        int oldest = 0;
        for (int i = 0; i < _count; i++)
        {
            ref RejectedSource e = ref _entries[i];
            if (e.Endpoint.Address == source.Address)
            {
                e = new RejectedSource(source.WithoutSource(), e.Count + 1, now);
                return;
            }
            if (e.LastSeen < _entries[oldest].LastSeen)
                oldest = i;
        }
        int slot = _count < Capacity ? _count++ : oldest;
        _entries[slot] = new RejectedSource(source.WithoutSource(), 1, now);
    }

    /// <summary>Copies up to <paramref name="destination"/>'s length entries; returns how many.</summary>
    public int CopyTo(Span<RejectedSource> destination)
    {
        int n = Math.Min(_count, destination.Length);
        _entries.AsSpan(0, n).CopyTo(destination);
        return n;
    }
}
