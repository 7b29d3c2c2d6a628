namespace Router.Daemon.Config;

/// <summary>Interface settings that can change without the interface being recreated.</summary>
[Flags]
internal enum DeviceFields
{
    None = 0,
    /// <summary>A new identity: WireGuard drops every session (and any peer whose key is the new public key).</summary>
    PrivateKey = 1,
    ListenPort = 2,
    FwMark = 4,
    Addresses = 8,
    Mtu = 16,
}

/// <summary>Peer settings; a peer is the same peer as long as its public key is the same (as in wg syncconf).</summary>
[Flags]
internal enum PeerFields
{
    None = 0,
    /// <summary>Only the label changed: nothing to do in the engine, LEDs and logs follow.</summary>
    Name = 1,
    PresharedKey = 2,
    Endpoint = 4,
    AllowedIps = 8,
    PersistentKeepalive = 16,
}

/// <summary>One peer present before and after, and which of its fields changed.</summary>
internal sealed record PeerChange(PublicKey PublicKey, string Name, PeerFields Fields);

/// <summary>What changes on one interface present in both configurations.</summary>
internal sealed record InterfaceChange(
    string Name,
    DeviceFields Device,
    IReadOnlyList<PeerConfig> PeersAdded,
    IReadOnlyList<PeerConfig> PeersRemoved,
    IReadOnlyList<PeerChange> PeersChanged)
{
    public bool IsEmpty => Device == DeviceFields.None && PeersAdded.Count == 0 && PeersRemoved.Count == 0 && PeersChanged.Count == 0;
}

/// <summary>
/// The difference between the running configuration and a new one, computed the way 'wg syncconf' applies a file:
/// peers are matched by public key; a peer whose settings did not change is left alone (sessions, counters and
/// endpoint learnt from roaming stay), changed peers are updated in place, others are added or removed.
/// Interfaces are matched by name. Pure: it reads two immutable configurations and touches nothing.
/// </summary>
internal sealed record ConfigDiff(
    IReadOnlyList<InterfaceConfig> InterfacesAdded,
    IReadOnlyList<InterfaceConfig> InterfacesRemoved,
    IReadOnlyList<InterfaceChange> InterfacesChanged,
    bool LedsChanged,
    bool ForwardingChanged,
    bool MetricsChanged,
    bool StateChanged)
{
    public bool IsEmpty => InterfacesAdded.Count == 0 && InterfacesRemoved.Count == 0 && InterfacesChanged.Count == 0
                           && !LedsChanged && !ForwardingChanged && !MetricsChanged && !StateChanged;

    /// <summary>Compares <paramref name="before"/> (null at first start: everything is added) with <paramref name="after"/>.</summary>
    public static ConfigDiff Compute(RouterConfig? before, RouterConfig after)
    {
        var oldInterfaces = before?.Interfaces ?? [];
        var added = after.Interfaces.Where(n => !oldInterfaces.Any(o => o.Name == n.Name)).ToArray();
        var removed = oldInterfaces.Where(o => !after.Interfaces.Any(n => n.Name == o.Name)).ToArray();
        var changed = new List<InterfaceChange>();
        foreach (var n in after.Interfaces)
        {
            var o = oldInterfaces.FirstOrDefault(i => i.Name == n.Name);
            if (o is null)
                continue;
            var change = CompareInterface(o, n);
            if (!change.IsEmpty)
                changed.Add(change);
        }
        return new ConfigDiff(added, removed, changed,
            LedsChanged: !LedsEqual(before?.Leds, after.Leds),
            ForwardingChanged: before is null || !ForwardingEqual(before.Forwarding, after.Forwarding),
            MetricsChanged: before is null || before.Metrics.Enabled != after.Metrics.Enabled || before.Metrics.Listen != after.Metrics.Listen,
            StateChanged: before is null || before.State != after.State);
    }

    public static InterfaceChange CompareInterface(InterfaceConfig o, InterfaceConfig n)
    {
        var device = DeviceFields.None;
        if (!o.PrivateKey.ContentEquals(n.PrivateKey))
            device |= DeviceFields.PrivateKey;
        if (o.ListenPort != n.ListenPort)
            device |= DeviceFields.ListenPort;
        if (o.FwMark != n.FwMark)
            device |= DeviceFields.FwMark;
        if (!SameSet(o.Addresses, n.Addresses))
            device |= DeviceFields.Addresses;
        if (o.Mtu != n.Mtu)
            device |= DeviceFields.Mtu;

        var peersAdded = n.Peers.Where(p => o.Peer(p.PublicKey) is null).ToArray();
        var peersRemoved = o.Peers.Where(p => n.Peer(p.PublicKey) is null).ToArray();
        var peersChanged = new List<PeerChange>();
        foreach (var np in n.Peers)
        {
            if (o.Peer(np.PublicKey) is not PeerConfig op)
                continue;
            var fields = ComparePeer(op, np);
            if (fields != PeerFields.None)
                peersChanged.Add(new PeerChange(np.PublicKey, np.Name, fields));
        }
        return new InterfaceChange(n.Name, device, peersAdded, peersRemoved, peersChanged);
    }

    public static PeerFields ComparePeer(PeerConfig o, PeerConfig n)
    {
        var fields = PeerFields.None;
        if (o.Name != n.Name)
            fields |= PeerFields.Name;
        bool pskSame = (o.PresharedKey is null && n.PresharedKey is null) || (o.PresharedKey?.ContentEquals(n.PresharedKey) ?? false);
        if (!pskSame)
            fields |= PeerFields.PresharedKey;
        if (o.Endpoint != n.Endpoint)
            fields |= PeerFields.Endpoint;
        // Allowed IPs are a set: reordering the list is not a change.
        if (!SameSet(o.AllowedIps, n.AllowedIps))
            fields |= PeerFields.AllowedIps;
        if (o.PersistentKeepalive != n.PersistentKeepalive)
            fields |= PeerFields.PersistentKeepalive;
        return fields;
    }

    private static bool SameSet<T>(IReadOnlyList<T> a, IReadOnlyList<T> b)
        => a.Count == b.Count && new HashSet<T>(a).SetEquals(b);

    private static bool LedsEqual(LedsConfig? a, LedsConfig? b)
    {
        if (a is null || b is null)
            return a is null && b is null;
        return a.Board == b.Board && a.Status == b.Status && a.Peers.Count == b.Peers.Count
               && a.Peers.All(p => b.Peers.TryGetValue(p.Key, out var q) && q == p.Value);
    }

    private static bool ForwardingEqual(ForwardingConfig a, ForwardingConfig b)
        => a.Enabled == b.Enabled && a.MssClamp == b.MssClamp && a.Masquerade.SequenceEqual(b.Masquerade);
}
