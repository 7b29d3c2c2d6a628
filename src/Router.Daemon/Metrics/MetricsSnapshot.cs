namespace Router.Daemon.Metrics;

/// <summary>
/// What the engine reports for one scrape, copied out of its counters so formatting never touches live state.
/// Holds no secrets: peers appear by name and public key.
/// </summary>
internal sealed record MetricsSnapshot(IReadOnlyList<InterfaceMetrics> Interfaces);

/// <summary>One interface: its peers and its dropped packets by reason (e.g. "replay", "bad_mac", "no_peer", "allowed_ips").</summary>
internal sealed record InterfaceMetrics(string Name, IReadOnlyList<PeerMetrics> Peers, IReadOnlyDictionary<string, long> DroppedByReason);

/// <summary>One peer's counters; <paramref name="LastHandshake"/> is null until the first handshake completes.</summary>
internal sealed record PeerMetrics(string Name, string PublicKey, long ReceiveBytes, long TransmitBytes, DateTimeOffset? LastHandshake);
