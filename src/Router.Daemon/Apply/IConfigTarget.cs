using Router.Daemon.Config;

namespace Router.Daemon.Apply;

/// <summary>A peer on an interface: the unit whose liveness decides a rollback.</summary>
internal readonly record struct PeerRef(string Interface, PublicKey PublicKey)
{
    public override string ToString() => $"{Interface}/{PublicKey.ShortId}";
}

/// <summary>
/// What <see cref="ApplyTransaction"/> needs from the running engine; the composition root implements it over the
/// tunnel device, rtnetlink and nftables. Kept this small so the apply and rollback rules are tested with a fake.
/// </summary>
internal interface IConfigTarget
{
    /// <summary>Brings the running system from the previous configuration to <paramref name="config"/>, changing only what <paramref name="diff"/> lists.</summary>
    Task ApplyAsync(RouterConfig config, ConfigDiff diff, CancellationToken cancel);

    /// <summary>Peers with a recent handshake (within REJECT_AFTER_TIME, 180 s): the ones a change must not cut off.</summary>
    IReadOnlyCollection<PeerRef> UpPeers();

    /// <summary>Starts a handshake with each peer and waits until all answered or <paramref name="timeout"/> passed; returns those that did not answer.</summary>
    Task<IReadOnlyList<PeerRef>> ProbeAsync(IReadOnlyList<PeerRef> peers, TimeSpan timeout, CancellationToken cancel);

    /// <summary>The likely cause a peer of the latest probe did not answer (wrong key on one side, no answer at all); null when unknown.</summary>
    string? WhySilent(PeerRef peer) => null;
}
