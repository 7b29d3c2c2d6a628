namespace Router.Daemon.Metrics;

/// <summary>
/// Turns the engine's per-address rejected-handshake counts (which may restart from 0 when its small table forgets an
/// address) into per-peer totals that only grow, as Prometheus counters must. Fed once per tick with every peer;
/// peers not fed are forgotten. Tick thread only.
/// </summary>
internal sealed class RejectedTotals
{
    private sealed class Entry
    {
        public long LastBadMac1, LastUnknownKey, BadMac1, UnknownKey;
        public bool Seen;
    }

    private readonly Dictionary<(string Interface, string Id), Entry> _peers = new();

    public void BeginTick()
    {
        foreach (var e in _peers.Values)
            e.Seen = false;
    }

    /// <summary>Adds what grew since the last tick; returns the totals (bad mac1, unknown key).</summary>
    public (long BadMac1, long UnknownKey) Observe(string iface, string id, long badMac1Now, long unknownKeyNow)
    {
        if (!_peers.TryGetValue((iface, id), out var e))
            _peers[(iface, id)] = e = new Entry();
        e.Seen = true;
        e.BadMac1 += badMac1Now >= e.LastBadMac1 ? badMac1Now - e.LastBadMac1 : badMac1Now; // a restart from 0: all of it is new
        e.UnknownKey += unknownKeyNow >= e.LastUnknownKey ? unknownKeyNow - e.LastUnknownKey : unknownKeyNow;
        e.LastBadMac1 = badMac1Now;
        e.LastUnknownKey = unknownKeyNow;
        return (e.BadMac1, e.UnknownKey);
    }

    public void EndTick()
    {
        foreach (var key in _peers.Where(p => !p.Value.Seen).Select(p => p.Key).ToList())
            _peers.Remove(key);
    }
}
