namespace Router.Daemon.Metrics;

/// <summary>
/// What the engine reports for one scrape, copied out of its counters so formatting never touches live state.
/// Holds no secrets: peers appear by name and public key. <paramref name="Config"/> is null where there is no
/// configuration file (tests of the format alone).
/// </summary>
internal sealed record MetricsSnapshot(IReadOnlyList<InterfaceMetrics> Interfaces, ConfigMetrics? Config = null);

/// <summary>One interface: its peers and its dropped packets by reason (the engine's names, e.g. "BadMac1").</summary>
internal sealed record InterfaceMetrics(string Name, IReadOnlyList<PeerMetrics> Peers, IReadOnlyDictionary<string, long> DroppedByReason);

/// <summary>
/// One peer's counters; <paramref name="LastHandshake"/> is null until the first handshake completes.
/// <paramref name="DroppedByReason"/>: the drops the engine could pin on this peer (engine names, nonzero only; null: none).
/// </summary>
internal sealed record PeerMetrics(string Name, string PublicKey, long ReceiveBytes, long TransmitBytes, DateTimeOffset? LastHandshake,
    HandshakeCounts Handshakes = default, IReadOnlyDictionary<string, long>? DroppedByReason = null);

/// <summary>
/// A peer's handshake totals. <paramref name="NoResponse"/>: initiations that got no usable response within
/// REKEY_TIMEOUT (5 s). <paramref name="BadMac1"/>: handshake messages from the peer's endpoint address that failed
/// the mac1 check (made for another public key than ours: the far side has the wrong key for this gateway).
/// <paramref name="UnknownKey"/>: initiations from that address with a valid mac1 but a static key no peer here has
/// (our entry for the peer has the wrong key).
/// </summary>
internal readonly record struct HandshakeCounts(long InitiationsSent, long Completed, long NoResponse, long BadMac1, long UnknownKey);

/// <summary>
/// The configuration as alerts see it. <paramref name="FileValid"/>: the file on disk passed validation at its last
/// load. <paramref name="Running"/>: a configuration is in force (false while waiting for a first valid file).
/// <paramref name="LastApplyAt"/>/<paramref name="LastApplySucceeded"/>: the last time a valid configuration was put in
/// force (start, reload with a difference, 'routerd apply' or its rollback) and whether every part of it applied.
/// </summary>
internal sealed record ConfigMetrics(bool FileValid, bool Running, DateTimeOffset? LastApplyAt, bool LastApplySucceeded);
