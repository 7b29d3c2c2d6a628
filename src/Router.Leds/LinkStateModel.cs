namespace Router.Leds;

/// <summary>
/// The pure mapping from what the engine saw to what the LEDs show: state = f(snapshot, now).
/// No clock, no threads, no I/O, so every rule is tested with plain values.
/// Precedence (highest wins): error &gt; down &gt; searching &gt; traffic &gt; up &gt; idle.
/// </summary>
public static class LinkStateModel
{
    /// <summary>
    /// A keypair older than this no longer carries data (WireGuard's Reject-After-Time, whitepaper 6.1),
    /// so the session is no longer "up".
    /// </summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromSeconds(180);

    /// <summary>A data packet this recent means "traffic".</summary>
    public static readonly TimeSpan TrafficWindow = TimeSpan.FromSeconds(1);

    /// <summary>The state of one peer of one tunnel.</summary>
    public static LinkState Evaluate(TunnelSnapshot tunnel, in PeerSnapshot peer, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(tunnel);
        LinkState tunnelOnly = EvaluateInterface(tunnel);
        if (tunnelOnly != LinkState.Idle)
        {
            return tunnelOnly;
        }

        if (peer.UnansweredHandshakes > 0)
        {
            return LinkState.Searching;
        }

        // Without a session less than REJECT_AFTER_TIME old nothing sent is data (an initiation, a keepalive into a
        // session the far side forgot): neither traffic nor up.
        if (!IsWithin(peer.LastHandshake, SessionLifetime, now))
        {
            return LinkState.Idle;
        }

        return IsWithin(peer.LastDataReceived, TrafficWindow, now) || IsWithin(peer.LastDataSent, TrafficWindow, now)
            ? LinkState.Traffic
            : LinkState.Up;
    }

    /// <summary>The state of a tunnel: its interface and configuration, else the highest state among its peers.</summary>
    public static LinkState Evaluate(TunnelSnapshot tunnel, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(tunnel);
        LinkState state = EvaluateInterface(tunnel);
        if (state != LinkState.Idle)
        {
            return state;
        }

        foreach (PeerSnapshot peer in tunnel.Peers)
        {
            state = Max(state, Evaluate(tunnel, peer, now));
        }

        return state;
    }

    /// <summary>The state of the whole router (the status LED): the highest among its tunnels; down without any.</summary>
    public static LinkState EvaluateAll(LinkSnapshot snapshot, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Tunnels.Count == 0)
        {
            return LinkState.Down;
        }

        LinkState state = LinkState.Idle;
        foreach (TunnelSnapshot tunnel in snapshot.Tunnels)
        {
            state = Max(state, Evaluate(tunnel, now));
        }

        return state;
    }

    /// <summary>
    /// The state of the peer with this name, over every tunnel that has one (names should be unique, but two
    /// tunnels to the same site would show the worse of the two). A peer no tunnel knows is down.
    /// </summary>
    public static LinkState EvaluatePeer(LinkSnapshot snapshot, string peerName, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        bool found = false;
        LinkState state = LinkState.Idle;
        foreach (TunnelSnapshot tunnel in snapshot.Tunnels)
        {
            foreach (PeerSnapshot peer in tunnel.Peers)
            {
                if (string.Equals(peer.Name, peerName, StringComparison.Ordinal))
                {
                    found = true;
                    state = Max(state, Evaluate(tunnel, peer, now));
                }
            }
        }

        return found ? state : LinkState.Down;
    }

    /// <summary>
    /// The first instant after <paramref name="now"/> at which the passage of time alone changes some state
    /// (traffic fading to up, a session expiring), or null if none will: the scheduler sleeps until then
    /// instead of polling.
    /// </summary>
    public static TimeSpan? NextChange(LinkSnapshot snapshot, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        TimeSpan? next = null;
        foreach (TunnelSnapshot tunnel in snapshot.Tunnels)
        {
            foreach (PeerSnapshot peer in tunnel.Peers)
            {
                next = Earliest(next, Expiry(peer.LastDataReceived, TrafficWindow, now));
                next = Earliest(next, Expiry(peer.LastDataSent, TrafficWindow, now));
                next = Earliest(next, Expiry(peer.LastHandshake, SessionLifetime, now));
            }
        }

        return next;
    }

    private static LinkState EvaluateInterface(TunnelSnapshot tunnel)
    {
        if (!tunnel.ConfigurationValid || tunnel.Interface == InterfaceStatus.Lost)
        {
            return LinkState.Error;
        }

        return tunnel.Interface == InterfaceStatus.Missing ? LinkState.Down : LinkState.Idle;
    }

    // An instant in the future (clock skew between engine threads) counts as "just now".
    private static bool IsWithin(TimeSpan? instant, TimeSpan window, TimeSpan now) =>
        instant is { } at && now - at < window;

    private static TimeSpan? Expiry(TimeSpan? instant, TimeSpan window, TimeSpan now) =>
        instant is { } at && at + window > now ? at + window : null;

    private static TimeSpan? Earliest(TimeSpan? a, TimeSpan? b) =>
        a is null ? b : b is null ? a : (a.Value <= b.Value ? a : b);

    private static LinkState Max(LinkState a, LinkState b) => a >= b ? a : b;
}
