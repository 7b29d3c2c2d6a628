using Router.Daemon.Firmware;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// The tunnel-health log's transitions and rate limit, driven tick by tick with a fake monotonic clock
/// (what an admin reads in the journal when a tunnel comes up, fails, or keeps failing).
/// </summary>
public sealed class PeerHealthLogTests
{
    private static readonly DateTime Wall0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private readonly List<(bool Error, string Line)> _lines = [];
    private readonly PeerHealthLog _log;
    private TimeSpan _now = TimeSpan.FromHours(1);

    public PeerHealthLogTests() => _log = new PeerHealthLog((e, l) => _lines.Add((e, l)));

    private DateTime? _handshake;
    private int _attempts;
    private long _badMac1;
    private long _unknownKey;
    private string? _endpoint = "192.0.2.1:51820";
    private bool _retrying; // the attempt count cycles 1..19 as a persistent keepalive makes the engine retry

    private void Handshake() => _handshake = Wall0 + _now;

    // One tick every 250 ms for this long, the engine state held as set.
    private void Run(TimeSpan span)
    {
        TimeSpan end = _now + span;
        for (; _now < end; _now += TimeSpan.FromMilliseconds(250))
        {
            if (_retrying)
                _attempts = 1 + (int)(_now.TotalSeconds / 5 % 19);
            TimeSpan? at = _handshake is { } h ? h - Wall0 : null;
            _log.Update([new PeerHealthSample("wg0", "site-b", "KEY", _endpoint, _handshake, at, _attempts, _badMac1, _unknownKey)], _now);
        }
    }

    [Fact]
    public void FirstHandshakeLogsUpOnce()
    {
        Run(TimeSpan.FromSeconds(10));
        Assert.Empty(_lines);
        Handshake();
        Run(TimeSpan.FromSeconds(100));
        Handshake(); // a rekey: still up, nothing to say
        Run(TimeSpan.FromSeconds(10));
        Assert.Equal([(false, "wg0: peer site-b up (handshake with 192.0.2.1:51820)")], _lines);
    }

    [Fact]
    public void UnansweredAttemptsGoDownAfterRekeyAttemptTimeWithTheNoAnswerCause()
    {
        _attempts = 3;
        Run(TimeSpan.FromSeconds(89));
        Assert.Empty(_lines);
        Run(TimeSpan.FromSeconds(2));
        var line = Assert.Single(_lines);
        Assert.True(line.Error);
        Assert.Equal("wg0: peer site-b down: handshake attempts unanswered for 90 s; no answer from 192.0.2.1:51820: check the endpoint, port and firewall on both sides", line.Line);
    }

    [Fact]
    public void AttemptCountResettingBetweenRetriesStillCountsAsFailing()
    {
        // A persistent keepalive restarts the engine's count at 0 every 90 s: failing lasts until a handshake.
        for (int i = 0; i < 20; i++)
        {
            _attempts = i % 4;
            Run(TimeSpan.FromSeconds(5));
        }
        Assert.Contains(_lines, l => l.Line.StartsWith("wg0: peer site-b down: handshake attempts unanswered", StringComparison.Ordinal));
    }

    [Fact]
    public void BadMac1FromTheEndpointSaysWrongKeyAtOnce()
    {
        _attempts = 1;
        Run(TimeSpan.FromSeconds(1));
        _badMac1 = 1;
        Run(TimeSpan.FromSeconds(0.25));
        Assert.Equal([(true, "wg0: peer site-b down: handshakes rejected; 192.0.2.1:51820 sends handshakes for another public key (bad mac1): one side has the wrong public key (likely the far side's entry for this gateway)")], _lines);
        _badMac1 = 5;
        Run(TimeSpan.FromSeconds(60));
        Assert.Single(_lines); // said once, not per packet
    }

    [Fact]
    public void WhileDownASummaryEveryFiveMinutesNotMore()
    {
        _retrying = true;
        Run(TimeSpan.FromSeconds(91));
        Assert.Single(_lines);
        Run(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Single(_lines);
        Run(TimeSpan.FromSeconds(1));
        Assert.Equal(2, _lines.Count);
        Assert.Equal("wg0: peer site-b still down after 5 min: no answer from 192.0.2.1:51820: check the endpoint, port and firewall on both sides", _lines[1].Line);
        Run(TimeSpan.FromMinutes(30));
        Assert.Equal(2 + 6, _lines.Count);
    }

    [Fact]
    public void ACauseFoundWhileDownIsSaidAtOnceAndUpAgainSaysHowLong()
    {
        _attempts = 2;
        Run(TimeSpan.FromSeconds(91));
        _badMac1 = 3;
        Run(TimeSpan.FromSeconds(1));
        Assert.Equal(2, _lines.Count);
        Assert.Equal("wg0: peer site-b still down: 192.0.2.1:51820 sends handshakes for another public key (bad mac1): one side has the wrong public key (likely the far side's entry for this gateway)", _lines[1].Line);
        Run(TimeSpan.FromSeconds(180));
        _attempts = 0;
        Handshake();
        Run(TimeSpan.FromSeconds(1));
        Assert.Equal((false, "wg0: peer site-b up again after 3 min down (handshake with 192.0.2.1:51820)"), _lines[^1]);
    }

    [Fact]
    public void ASessionThatAgesOutWithNothingToSendIsIdleNotDown()
    {
        Handshake();
        Run(TimeSpan.FromSeconds(181));
        Assert.Equal(2, _lines.Count);
        Assert.Equal((false, "wg0: peer site-b idle: no handshake within 180 s and nothing to send"), _lines[1]);
        Run(TimeSpan.FromMinutes(20));
        Assert.Equal(2, _lines.Count);
        Handshake();
        Run(TimeSpan.FromSeconds(1));
        Assert.Equal((false, "wg0: peer site-b up (handshake with 192.0.2.1:51820)"), _lines[^1]);
    }

    [Fact]
    public void RekeyFailingPastRejectAfterTimeIsDown()
    {
        Handshake();
        Run(TimeSpan.FromSeconds(130));
        _attempts = 1; // the rekey at 120 s goes unanswered
        Run(TimeSpan.FromSeconds(49));
        Assert.Single(_lines);
        Run(TimeSpan.FromSeconds(2));
        Assert.Equal((true, "wg0: peer site-b down: no handshake within 180 s; no answer from 192.0.2.1:51820: check the endpoint, port and firewall on both sides"), _lines[^1]);
    }

    [Fact]
    public void BadMac1FromTheSameAddressDuringAWorkingSessionIsNotBlamed()
    {
        // Another host behind the same NAT, or a stale client: the session answers, so this peer is fine.
        Handshake();
        Run(TimeSpan.FromSeconds(1));
        _badMac1 = 10;
        Run(TimeSpan.FromSeconds(60));
        Assert.Single(_lines);
    }

    [Fact]
    public void APeerThatLeftTheConfigurationIsForgotten()
    {
        _attempts = 2;
        Run(TimeSpan.FromSeconds(91));
        Assert.Single(_lines);
        _log.Update([], _now);
        Run(TimeSpan.FromSeconds(1)); // seen again: a new peer, failing from now
        Assert.Single(_lines);
    }

    [Fact]
    public void AnUnknownKeyFromTheEndpointBlamesThisSidesEntry()
    {
        _attempts = 1;
        Run(TimeSpan.FromSeconds(1));
        _unknownKey = 2;
        Run(TimeSpan.FromSeconds(10));
        Assert.Equal([(true, "wg0: peer site-b down: handshakes rejected; 192.0.2.1:51820 sends handshakes from a public key not configured here: one side has the wrong public key (likely this side's entry for site-b)")], _lines);
    }

    [Fact]
    public void NoSummaryOnceTheEngineGaveUp()
    {
        // Without a keepalive or traffic the engine stops at its 19th retry and the count stays: nothing new to say.
        _attempts = 19;
        Run(TimeSpan.FromSeconds(91));
        Assert.Single(_lines);
        Run(TimeSpan.FromMinutes(30));
        Assert.Single(_lines);
        _attempts = 1; // a new packet: the engine tries again, and the summary that was due comes at once
        Run(TimeSpan.FromSeconds(1));
        Assert.Equal(2, _lines.Count);
        Assert.StartsWith("wg0: peer site-b still down after 30 min: no answer", _lines[1].Line, StringComparison.Ordinal);
        Run(TimeSpan.FromMinutes(10)); // that one attempt, never retried: no more
        Assert.Equal(2, _lines.Count);
    }
}
