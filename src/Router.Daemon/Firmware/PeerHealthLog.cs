namespace Router.Daemon.Firmware;

/// <summary>One peer as the health log sees it on one tick.</summary>
/// <param name="Interface">The interface the peer belongs to.</param>
/// <param name="Name">The configured peer name (logs never show a key).</param>
/// <param name="Id">What tells peers apart across ticks (the public key); never printed.</param>
/// <param name="Endpoint">Where handshakes go, as text; null when unknown.</param>
/// <param name="LastHandshake">The engine's wall-clock time of the latest handshake: a new value is a new handshake.</param>
/// <param name="HandshakeAt">The same instant on the monotonic clock <c>now</c> is on, to age it.</param>
/// <param name="HandshakeAttempts">Initiations sent since the last completed handshake.</param>
/// <param name="BadMac1FromEndpoint">Handshake messages from the endpoint's address dropped for a bad mac1 (a count
/// that only grows, but may restart from 0 when the engine's small table forgets the address).</param>
/// <param name="UnknownKeyFromEndpoint">Initiations from the endpoint's address with a valid mac1 but a static key no
/// peer here has (a count like the one before).</param>
internal readonly record struct PeerHealthSample(
    string Interface,
    string Name,
    string Id,
    string? Endpoint,
    DateTime? LastHandshake,
    TimeSpan? HandshakeAt,
    int HandshakeAttempts,
    long BadMac1FromEndpoint,
    long UnknownKeyFromEndpoint = 0);

/// <summary>
/// Tunnel health in the log (issue 16): one line when a peer comes up, one when it goes down, and while it stays down
/// a summary every <see cref="SummaryInterval"/> while the engine keeps retrying, each with the likely cause where one is knowable. Down means:
/// handshake attempts failed for REKEY_ATTEMPT_TIME (the engine gives up then), or the session outlived
/// REJECT_AFTER_TIME while attempts went unanswered, or the endpoint sends handshakes that name the wrong key (said at
/// once): made for another public key than ours (bad mac1: the far side has the wrong key for us), or from a key no
/// peer here has (our entry for it has the wrong key). A session that simply ages out with nothing to send is "idle",
/// not down. Pure state machine: time comes in with each call, lines go out through <c>write</c>.
/// </summary>
internal sealed class PeerHealthLog(Action<bool, string> write)
{
    /// <summary>REJECT_AFTER_TIME: a session older than this carries nothing.</summary>
    public static readonly TimeSpan RejectAfterTime = TimeSpan.FromSeconds(180);

    /// <summary>REKEY_ATTEMPT_TIME: the engine retries a handshake this long, then gives up.</summary>
    public static readonly TimeSpan RekeyAttemptTime = TimeSpan.FromSeconds(90);

    public static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(5);

    private enum State { New, Up, Idle, Down }

    private enum Cause { NoAnswer, WrongKeyThere, WrongKeyHere }

    private sealed class Track
    {
        public State State;
        public DateTime? SeenHandshake;
        public TimeSpan? FailingSince;   // first tick with an unanswered initiation since the last handshake
        public TimeSpan DownSince;
        public TimeSpan LastLine;        // the down line or the latest summary
        public long Mac1Baseline;        // bad-mac1 count already accounted for
        public long UnknownBaseline;     // unknown-key count already accounted for
        public Cause Cause;              // what the endpoint sent since the last handshake
        public bool Seen;
        public int LastAttempts;
        public bool Retrying;            // the attempt count moved since the last line: the engine still tries
        public string DownWhy = "";      // what the down line said made it down
        public PeerHealthSample Last;    // the latest sample, to explain the state on demand
    }

    private readonly Dictionary<(string Interface, string Id), Track> _peers = new();

    /// <summary>Where the engine's rejected handshakes came from, read once per tick.</summary>
    public sealed class Rejected
    {
        private readonly Router.Tunnel.RejectedSource[] _badMac1 = new Router.Tunnel.RejectedSource[Router.Tunnel.Device.RejectedSourceCapacity];
        private readonly Router.Tunnel.RejectedSource[] _unknownKey = new Router.Tunnel.RejectedSource[Router.Tunnel.Device.RejectedSourceCapacity];
        private int _badMac1Count, _unknownKeyCount;

        public static Rejected From(Router.Tunnel.Device device)
        {
            var r = new Rejected();
            r._badMac1Count = device.CopyBadMac1Sources(r._badMac1);
            r._unknownKeyCount = device.CopyUnknownKeySources(r._unknownKey);
            return r;
        }

        public long BadMac1(Router.Tunnel.IO.Endpoint? endpoint) => Count(_badMac1.AsSpan(0, _badMac1Count), endpoint);

        public long UnknownKey(Router.Tunnel.IO.Endpoint? endpoint) => Count(_unknownKey.AsSpan(0, _unknownKeyCount), endpoint);

        // By address alone: the far side's port may differ behind a NAT.
        private static long Count(ReadOnlySpan<Router.Tunnel.RejectedSource> sources, Router.Tunnel.IO.Endpoint? endpoint)
        {
            foreach (var r in sources)
            {
                if (endpoint is { } ep && r.Endpoint.Address == ep.Address)
                    return r.Count;
            }
            return 0;
        }
    }

    /// <summary>One engine peer as a sample; wall-clock engine times moved onto the monotonic clock as the LEDs do.</summary>
    public static PeerHealthSample Sample(string iface, string name, string id, Router.Tunnel.PeerSnapshot s, Rejected rejected, DateTime wallNow, TimeSpan monoNow)
        => new(iface, name, id, s.Endpoint?.ToString(), s.LastHandshake, s.LastHandshake is { } h ? monoNow - (wallNow - h) : null,
            s.HandshakeAttempts, rejected.BadMac1(s.Endpoint), rejected.UnknownKey(s.Endpoint));

    /// <summary>Feeds every configured peer of every interface, once per tick; peers not in it are forgotten.</summary>
    public void Update(IReadOnlyList<PeerHealthSample> samples, TimeSpan now)
    {
        foreach (var t in _peers.Values)
            t.Seen = false;
        foreach (var s in samples)
        {
            if (!_peers.TryGetValue((s.Interface, s.Id), out var t))
                _peers[(s.Interface, s.Id)] = t = new Track { Mac1Baseline = s.BadMac1FromEndpoint, UnknownBaseline = s.UnknownKeyFromEndpoint }; // a handshake it already has is news: "up"
            t.Seen = true;
            t.Last = s;
            Observe(t, s, now);
        }
        foreach (var key in _peers.Where(p => !p.Value.Seen).Select(p => p.Key).ToList())
            _peers.Remove(key);
    }

    private void Observe(Track t, in PeerHealthSample s, TimeSpan now)
    {
        if (s.LastHandshake is { } h && h != t.SeenHandshake)
        {
            t.SeenHandshake = h;
            if (t.State != State.Up)
                write(false, t.State == State.Down
                    ? $"{Who(s)} up again after {Duration(now - t.DownSince)} down (handshake with {s.Endpoint ?? "?"})"
                    : $"{Who(s)} up (handshake with {s.Endpoint ?? "?"})");
            t.State = State.Up;
            t.FailingSince = null;
            t.Cause = Cause.NoAnswer;
            t.Mac1Baseline = s.BadMac1FromEndpoint;
            t.UnknownBaseline = s.UnknownKeyFromEndpoint;
            return;
        }

        if (s.BadMac1FromEndpoint < t.Mac1Baseline)
            t.Mac1Baseline = 0; // the engine's table forgot the address and counts again from 0
        if (s.UnknownKeyFromEndpoint < t.UnknownBaseline)
            t.UnknownBaseline = 0;
        if (s.HandshakeAttempts > 0)
            t.FailingSince ??= now;
        t.Retrying |= s.HandshakeAttempts != t.LastAttempts;
        t.LastAttempts = s.HandshakeAttempts;
        bool sessionAlive = t.State == State.Up && s.HandshakeAt is { } at && now - at < RejectAfterTime;
        // Rejected handshakes from its address while the session does not answer: the likely cause (the newest wins).
        Cause seen = t.Cause;
        if (!sessionAlive || t.FailingSince is not null)
        {
            if (s.BadMac1FromEndpoint > t.Mac1Baseline)
                seen = Cause.WrongKeyThere;
            else if (s.UnknownKeyFromEndpoint > t.UnknownBaseline)
                seen = Cause.WrongKeyHere;
            t.Mac1Baseline = s.BadMac1FromEndpoint;
            t.UnknownBaseline = s.UnknownKeyFromEndpoint;
        }
        if (seen != t.Cause)
        {
            t.Cause = seen;
            if (t.State == State.Down)
            {
                t.LastLine = now;
                write(true, $"{Who(s)} still down: {Explain(t, s)}"); // the cause just became known: say it now
                return;
            }
        }

        if (t.State == State.Down)
        {
            // Only while it keeps failing: after the engine gave up (nothing to send) there is nothing new to say.
            if (now - t.LastLine >= SummaryInterval && t.Retrying)
            {
                t.LastLine = now;
                t.Retrying = false;
                write(true, $"{Who(s)} still down after {Duration(now - t.DownSince)}: {Explain(t, s)}");
            }
            return;
        }

        string? why = null;
        if (t.Cause != Cause.NoAnswer)
            why = "handshakes rejected";
        else if (t.FailingSince is { } since && now - since >= RekeyAttemptTime)
            why = $"handshake attempts unanswered for {Duration(now - since)}";
        else if (t.State == State.Up && !sessionAlive && t.FailingSince is not null)
            why = $"no handshake within {(int)RejectAfterTime.TotalSeconds} s";
        if (why is not null)
        {
            t.State = State.Down;
            t.DownWhy = why;
            t.DownSince = t.LastLine = now;
            t.Retrying = false;
            write(true, $"{Who(s)} down: {why}; {Explain(t, s)}");
            return;
        }

        if (t.State == State.Up && !sessionAlive)
        {
            t.State = State.Idle;
            write(false, $"{Who(s)} idle: no handshake within {(int)RejectAfterTime.TotalSeconds} s and nothing to send");
        }
    }

    /// <summary>
    /// Why a peer is down and its likely cause, as the latest line said it ("handshakes rejected; ... wrong public
    /// key ..."), for <c>routerd show</c>; null when the peer is not down or not known.
    /// </summary>
    public string? DownReason(string iface, string id)
        => _peers.TryGetValue((iface, id), out var t) && t.State == State.Down ? $"{t.DownWhy}; {Explain(t, t.Last)}" : null;

    // Built only when a line is written: Observe runs for every peer on every tick.
    private static string Who(in PeerHealthSample s)
        => s.Interface.Length > 0 ? $"{s.Interface}: peer {s.Name}" : $"peer {s.Name}"; // drop-in: the log prefix names the interface

    private static string Explain(Track t, in PeerHealthSample s)
        => LikelyCause(s.Name, s.Endpoint, t.Cause == Cause.WrongKeyThere, t.Cause == Cause.WrongKeyHere);

    /// <summary>The likely cause of failing handshakes, from what the peer's endpoint address sent (also apply's rollback message).</summary>
    public static string LikelyCause(string name, string? endpoint, bool badMac1, bool unknownKey)
    {
        if (badMac1)
            return $"{endpoint} sends handshakes for another public key (bad mac1): one side has the wrong public key (likely the far side's entry for this gateway)";
        if (unknownKey)
            return $"{endpoint} sends handshakes from a public key not configured here: one side has the wrong public key (likely this side's entry for {name})";
        if (endpoint is null)
            return "no endpoint to send handshakes to: set one here, or wait for the peer to connect";
        return $"no answer from {endpoint}: check the endpoint, port and firewall on both sides";
    }

    private static string Duration(TimeSpan d)
    {
        if (d < TimeSpan.FromMinutes(2))
            return $"{(int)d.TotalSeconds} s";
        if (d < TimeSpan.FromHours(2))
            return $"{(int)d.TotalMinutes} min";
        return $"{(int)d.TotalHours} h";
    }
}
