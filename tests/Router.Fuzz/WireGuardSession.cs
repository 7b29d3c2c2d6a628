using Router.Crypto;
using Router.Tunnel;
using Router.Tunnel.Cookies;
using Router.Tunnel.IO;
using Router.Tunnel.Tests;

namespace Router.Fuzz;

/// <summary>
/// Two real devices with real keys, walked through one handshake message by message so that each fuzzed message
/// meets the state that makes it meaningful: the initiation (under load, then not), the cookie reply while its
/// initiation is outstanding, the response while its handshake is pending, transport data on the live keypair, and
/// inner packets sealed by the genuine peer. Each phase takes <see cref="PhaseInputs"/> fuzzed messages, then the
/// genuine message is delivered and the next phase begins; after the last, the tunnel must still carry traffic both ways.
/// </summary>
internal sealed class WireGuardSession : IDisposable
{
    public const int PhaseInputs = 64;

    public enum Phase { InitiationUnderLoad, CookieReply, Initiation, Response, Transport, InnerPacket, Done }

    private static readonly Endpoint EndpointA = Endpoint.FromBytes(TwoDevices.AddressA, TwoDevices.PortA);
    private static readonly Endpoint EndpointB = Endpoint.FromBytes(TwoDevices.AddressB, TwoDevices.PortB);

    private readonly TwoDevices _net = new();
    private readonly byte[] _mac1KeyA = new byte[32], _mac1KeyB = new byte[32];
    private readonly Peer _peerBOnA, _peerAOnB;
    private byte[] _seed = [];
    private byte[]? _lastResponseFromB, _lastTransportFromA;
    private int _inputsInPhase;

    public WireGuardSession()
    {
        CookieChecker.DeriveKey(CookieChecker.Mac1Label8, _net.KeyA.ToArray(), _mac1KeyA);
        CookieChecker.DeriveKey(CookieChecker.Mac1Label8, _net.KeyB.ToArray(), _mac1KeyB);
        _peerBOnA = _net.PeerBOnA;
        _peerAOnB = _net.PeerAOnB;
        // A has a packet for B: its initiation goes out; B, forced under load, answers it with a cookie reply.
        _net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        _seed = Take(MessageType.Initiation) ?? throw new InvalidOperationException("no initiation");
        Corpus.Save("wireguard", "1-initiation.bin", _seed);
        _net.B.ForceUnderLoad = true;
        Current = Phase.InitiationUnderLoad;
    }

    public Phase Current { get; private set; }

    /// <summary>The genuine messages this session saw, for splicing into others.</summary>
    public List<byte[]> Genuine { get; } = new();

    /// <summary>Sessions that could not capture the next genuine message (a fuzzed one had taken its place).</summary>
    public bool Degraded { get; private set; }

    public long Drops => _net.A.Drops.Total + _net.B.Drops.Total;

    /// <summary>Adds both devices' drop counters to <paramref name="totals"/> (one slot per <see cref="DropReason"/>).</summary>
    public void AddDrops(long[] totals)
    {
        foreach (DropReason reason in Enum.GetValues<DropReason>())
            totals[(int)reason] += _net.A.Drops[reason] + _net.B.Drops[reason];
    }

    /// <summary>Delivers one fuzzed message built from the phase's genuine one; true when the device accounted for it.</summary>
    public bool Feed(Mutation[] steps, bool fixMac1, IReadOnlyList<byte[]> others, byte[] innerSeed)
    {
        long before = Observable();
        byte[] input = Mutation.Apply(Current == Phase.InnerPacket ? innerSeed : _seed, steps, others, maxLength: 2048);
        bool accepted;
        if (Current == Phase.InnerPacket)
        {
            _net.SendFromA(input);
            _net.Pump();
            accepted = false;
        }
        else
        {
            bool toA = Current is Phase.CookieReply or Phase.Response;
            if (fixMac1 && input.Length is ProtocolConstants.InitiationSize or ProtocolConstants.ResponseSize)
            {
                int mac1 = input.Length - 32;
                Blake2s.KeyedHash(toA ? _mac1KeyA : _mac1KeyB, input.AsSpan(0, mac1), input.AsSpan(mac1, 16));
            }
            _net.Deliver(input, toA ? EndpointB : EndpointA, toA ? EndpointA : EndpointB);
            // A genuine cookie reply is consumed without a trace; everything else leaves one.
            accepted = Current == Phase.CookieReply && input.AsSpan().SequenceEqual(_seed);
            Drain();
        }
        _net.Clock.Advance(TimeSpan.FromMilliseconds(25)); // past the 20 ms initiation flood guard
        bool accounted = accepted || Observable() > before;
        if (++_inputsInPhase == PhaseInputs)
            Advance();
        return accounted;
    }

    /// <summary>Drops, datagrams sent, packets written to either TUN and bytes received: one of them moves per input.</summary>
    private long Observable() =>
        Drops + _net.Net.Log.Count + _net.TunA.Written.Count + _net.TunB.Written.Count + _peerBOnA.RxBytes + _peerAOnB.RxBytes;

    private void Advance()
    {
        _inputsInPhase = 0;
        Genuine.Add(_seed);
        switch (Current)
        {
            case Phase.InitiationUnderLoad:
                _net.Deliver(_seed, EndpointA, EndpointB);
                _seed = Take(MessageType.CookieReply) ?? Fail();
                Corpus.Save("wireguard", "3-cookie-reply.bin", _seed);
                Current = Phase.CookieReply;
                break;
            case Phase.CookieReply:
                _net.Deliver(_seed, EndpointB, EndpointA);
                _net.B.ForceUnderLoad = false;
                // A retries after REKEY_TIMEOUT (5 s, with jitter), now with mac2 from the cookie.
                byte[]? retry = null;
                for (int step = 0; step < 100 && retry is null; step++)
                {
                    _net.Clock.Advance(TimeSpan.FromMilliseconds(100));
                    _net.A.Tick();
                    retry = Take(MessageType.Initiation);
                }
                _seed = retry ?? Fail();
                Current = Phase.Initiation;
                break;
            case Phase.Initiation:
                _net.Deliver(_seed, EndpointA, EndpointB);
                _seed = Take(MessageType.Response) ?? _lastResponseFromB ?? Fail();
                Corpus.Save("wireguard", "2-response.bin", _seed);
                Current = Phase.Response;
                break;
            case Phase.Response:
                _net.Deliver(_seed, EndpointB, EndpointA);
                _seed = Take(MessageType.Transport) ?? _lastTransportFromA ?? Fail();
                Corpus.Save("wireguard", "4-transport.bin", _seed);
                _net.Deliver(_seed, EndpointA, EndpointB); // B confirms the keypair on its first transport message
                _net.TunB.TakeWritten();
                Current = Phase.Transport;
                break;
            case Phase.Transport:
                Current = Phase.InnerPacket;
                break;
            case Phase.InnerPacket:
                Current = Phase.Done;
                break;
        }
        if (Degraded)
            Current = Phase.Done;
    }

    /// <summary>
    /// After the fuzzing, the genuine peers reach each other in both directions, at once or, when a fuzzed message
    /// was accepted and left a stale session (a response whose unauthenticated sender index was changed, with mac1
    /// recomputed, is valid Noise: the kernel accepts it too), after the timers rekey: within 60 s of virtual time.
    /// Returns the virtual seconds it took (0: at once).
    /// </summary>
    public int AssertTunnelStillWorks()
    {
        if (Degraded)
            return 0;
        _net.TunA.TakeWritten();
        _net.TunB.TakeWritten();
        var before = new long[DropCounters.Count];
        AddDrops(before);
        bool toBArrived = false, toAArrived = false;
        for (int second = 0; second <= 60; second++)
        {
            byte[] toB = Ip.V4("10.0.0.1", "10.0.0.2", 100, (byte)second), toA = Ip.V6("fd00::2", "fd00::1", 100, (byte)second);
            _net.SendFromA(toB);
            _net.Pump();
            _net.SendFromB(toA);
            _net.Pump();
            toBArrived |= _net.TunB.TakeWritten().Any(p => p.AsSpan().SequenceEqual(toB));
            toAArrived |= _net.TunA.TakeWritten().Any(p => p.AsSpan().SequenceEqual(toA));
            if (toBArrived && toAArrived)
                return second;
            _net.Advance(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(250));
        }
        var after = new long[DropCounters.Count];
        AddDrops(after);
        string why = string.Join(", ", Enum.GetValues<DropReason>().Where(r => after[(int)r] != before[(int)r]).Select(r => $"{r} +{after[(int)r] - before[(int)r]}"));
        Assert.Fail($"the tunnel did not recover within 60 s (A to B {toBArrived}, B to A {toAArrived}); drops meanwhile: {why}");
        return -1;
    }

    private byte[] Fail()
    {
        Degraded = true;
        return _seed;
    }

    /// <summary>The last message of <paramref name="type"/> in flight; everything in flight is discarded.</summary>
    private byte[]? Take(MessageType type)
    {
        byte[]? found = null;
        foreach (var (data, _, _) in _net.Net.TakeAll())
        {
            if (data.Length > 0 && data[0] == (byte)type)
                found = data;
        }
        return found;
    }

    /// <summary>Discards what the fuzzed message caused, remembering a response or transport message it led to.</summary>
    private void Drain()
    {
        foreach (var (data, from, _) in _net.Net.TakeAll())
        {
            if (data.Length == ProtocolConstants.ResponseSize && data[0] == (byte)MessageType.Response && from == EndpointB)
                _lastResponseFromB = data;
            else if (data.Length > 0 && data[0] == (byte)MessageType.Transport && from == EndpointA)
                _lastTransportFromA = data;
        }
    }

    public void Dispose() => _net.Dispose();
}
