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
/// the table. Keyed by address alone: a NAT may change the port. Takes a lock of its own (a few compares under it),
/// so callers may hold the device lock or the handshake queue's, whichever the receive path uses.
/// </summary>
internal sealed class RejectedSources
{
    public const int Capacity = 8;

    private readonly Lock _lock = new();
    private readonly RejectedSource[] _entries = new RejectedSource[Capacity]; // guarded by _lock
    private int _count;

    public void Record(in Endpoint source, long now)
    {
        lock (_lock)
            RecordLocked(source, now);
    }

    private void RecordLocked(in Endpoint source, long now)
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
        lock (_lock)
        {
            int n = Math.Min(_count, destination.Length);
            _entries.AsSpan(0, n).CopyTo(destination);
            return n;
        }
    }
}
