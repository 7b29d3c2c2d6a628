using System.Net;
using System.Text;
using Router.Daemon.Apply;
using Router.Daemon.Config;
using Router.Daemon.Tests.Config;

namespace Router.Daemon.Tests.Apply;

/// <summary>
/// Issue 16 pt 4: what the daemon keeps and says about an apply. The latest apply is recorded (pending, confirmed,
/// applied, rolled back with why, refused); a rolled-back apply is never reported as success afterwards (confirm and
/// the next apply say it was rolled back); a dry run touches nothing; over SSH a change that cuts the session's path
/// gets a confirm window by default.
/// </summary>
public sealed class ApplyTruthTests : IDisposable
{
    private readonly ConfigFixture _f = new();
    private readonly ConfigStore _store;
    private readonly RunningConfig _running = new();
    private readonly FakeTarget _target = new();
    private readonly ApplyTransaction _apply;
    private readonly PeerRef _lab = new("wg0", Key(ConfigFixture.PeerKeyB));

    // An SSH session from 10.20.0.5 (behind peer lab) to the gateway's tunnel address 10.10.0.1.
    private static readonly SshSession ThroughLab = new(IPAddress.Parse("10.20.0.5"), IPAddress.Parse("10.10.0.1"));

    public ApplyTruthTests()
    {
        _store = new ConfigStore(_f.Dir.File("router.json"));
        _store.Write(Json(ConfigFixture.Valid));
        Assert.True(_running.Offer(_store.Load()).Accepted);
        _apply = new ApplyTransaction(_store, _running, _target);
        _target.Up.Add(new PeerRef("wg0", Key(ConfigFixture.PeerKeyA)));
        _target.Up.Add(_lab);
    }

    public void Dispose() => _f.Dispose();

    private static PublicKey Key(string base64)
    {
        Assert.True(PublicKey.TryParse(base64, out var key));
        return key;
    }

    private byte[] Json(string template) => Encoding.UTF8.GetBytes(_f.Expand(template));

    private static string ChangeLab(string json) => json.Replace("['10.20.0.0/24', 'fd00:20::/64']", "['10.20.0.0/24', 'fd00:21::/64']");

    private static string DropLabSubnet(string json) => json.Replace("['10.20.0.0/24', 'fd00:20::/64']", "['fd00:20::/64']");

    [Fact]
    public async Task DryRunPrintsTheDiffAndTouchesNothing()
    {
        byte[] file = File.ReadAllBytes(_store.Path);
        bool prev = File.Exists(_store.PreviousPath);
        var runningBefore = _running.Current;
        var result = await _apply.SubmitAsync(Json(ChangeLab(ConfigFixture.Valid)), new ApplyOptions { DryRun = true }, CancellationToken.None);
        Assert.Equal(ApplyOutcome.DryRun, result.Outcome);
        Assert.Equal(0, result.ExitStatus);
        Assert.Equal("  interfaces.wg0.peers[1].allowedIps (lab): [10.20.0.0/24, fd00:20::/64] -> [10.20.0.0/24, fd00:21::/64]", Assert.Single(result.Changes));
        Assert.Equal(file, File.ReadAllBytes(_store.Path));
        Assert.Equal(prev, File.Exists(_store.PreviousPath));
        Assert.Equal(file, _store.ReadCurrent());
        Assert.Same(runningBefore, _running.Current);
        Assert.Empty(_target.Applied);
        Assert.Empty(_target.Probed);
        Assert.Null(_apply.Last); // a dry run is not an apply: show keeps reporting the real one
    }

    [Fact]
    public async Task DryRunOfAnInvalidFileListsTheProblemsAndTouchesNothing()
    {
        byte[] file = File.ReadAllBytes(_store.Path);
        var result = await _apply.SubmitAsync(Json(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1")), new ApplyOptions { DryRun = true }, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Invalid, result.Outcome);
        Assert.Equal(1, result.ExitStatus);
        Assert.Contains(result.Problems, p => p.Path == "interfaces.wg0.mtu");
        Assert.Equal(file, File.ReadAllBytes(_store.Path));
        Assert.Null(_apply.Last);
    }

    [Fact]
    public async Task AppliedChangeIsRecordedWithItsChanges()
    {
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Single(result.Changes);
        var last = Assert.IsType<ApplyRecord>(_apply.Last);
        Assert.Equal(ApplyState.Applied, last.State);
        Assert.Equal(result.Changes, last.Changes);
    }

    [Fact]
    public async Task RefusedApplyIsRecordedWithItsFirstProblem()
    {
        await _apply.ApplyAsync(Json(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1")), null, CancellationToken.None);
        var last = Assert.IsType<ApplyRecord>(_apply.Last);
        Assert.Equal(ApplyState.Refused, last.State);
        Assert.Contains("interfaces.wg0.mtu", last.Why);
        Assert.StartsWith("refused at ", last.Summary(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task RollbackNamesTheSilentPeerAndItsLikelyCause()
    {
        _target.Silent.Add(_lab);
        _target.Causes[_lab] = "no answer from [2001:db8::7]:51820: check the endpoint, port and firewall on both sides";
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.RolledBack, result.Outcome);
        Assert.Contains("wg0/lab answered before the change and not within 20 s after it (likely cause: no answer from [2001:db8::7]:51820", result.Message);
        var last = Assert.IsType<ApplyRecord>(_apply.Last);
        Assert.Equal(ApplyState.RolledBack, last.State);
        Assert.Contains("wg0/lab answered before the change and not within 20 s after it (likely cause: no answer from", last.Why);
        Assert.NotNull(last.EndedAt);
    }

    [Fact]
    public async Task RollbackOfANewPeerKeySaysTheKeyIsTheLikelyCause()
    {
        _target.Silent.Add(new PeerRef("wg0", Key(ConfigFixture.PeerKeyC)));
        var result = await _apply.ApplyAsync(Json(ConfigFixture.Valid.Replace("'publicKey': '$B'", "'publicKey': '$C'")), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.RolledBack, result.Outcome);
        Assert.Contains("this change gave it a new public key", result.Message);
        // The diff says which key changed (never a secret: public keys are not).
        Assert.Contains(result.Changes, c => c.Contains($"interfaces.wg0.peers[1].publicKey (lab): {ConfigFixture.PeerKeyB} -> {ConfigFixture.PeerKeyC}"));
    }

    [Fact]
    public async Task UnconfirmedWindowIsRecordedAsRolledBackAndNeverReportedAsSuccess()
    {
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), TimeSpan.FromMilliseconds(300), CancellationToken.None);
        Assert.Equal(ApplyOutcome.AwaitingConfirm, result.Outcome);
        var pending = Assert.IsType<ApplyRecord>(_apply.Last);
        Assert.Equal(ApplyState.Pending, pending.State);
        Assert.NotNull(pending.Until);
        Assert.StartsWith("pending until ", pending.Summary(DateTimeOffset.UtcNow));

        await _apply.ConfirmWindow.WaitAsync(TimeSpan.FromSeconds(10));
        var last = Assert.IsType<ApplyRecord>(_apply.Last);
        Assert.Equal(ApplyState.RolledBack, last.State);
        Assert.Contains("no 'routerd confirm' within 0 s", last.Why); // 300 ms prints as 0 s
        Assert.False(_apply.Confirm());
        string answer = _apply.NothingToConfirm();
        Assert.Contains("was rolled back at", answer);
        Assert.DoesNotContain("confirmed", answer);

        // The next apply tells whoever runs it that the earlier one did not stay.
        var next = await _apply.ApplyAsync(Json(ConfigFixture.Valid), null, CancellationToken.None);
        Assert.Contains(next.Warnings, w => w.StartsWith("note: the previous apply (", StringComparison.Ordinal) && w.Contains("was rolled back"));
    }

    [Fact]
    public async Task ConfirmedWindowIsRecordedAsConfirmed()
    {
        await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(_apply.Confirm());
        await _apply.ConfirmWindow.WaitAsync(TimeSpan.FromSeconds(10));
        var last = Assert.IsType<ApplyRecord>(_apply.Last);
        Assert.Equal(ApplyState.Confirmed, last.State);
        Assert.Contains("already confirmed", _apply.NothingToConfirm());
    }

    [Fact]
    public async Task OverSshAChangeThatCutsTheSessionGetsADefaultConfirmWindow()
    {
        var result = await _apply.SubmitAsync(Json(DropLabSubnet(ConfigFixture.Valid)), new ApplyOptions { Ssh = ThroughLab }, CancellationToken.None);
        Assert.Equal(ApplyOutcome.AwaitingConfirm, result.Outcome);
        Assert.Contains(result.Warnings, w => w.Contains("cuts the path of this SSH session") && w.Contains("10.20.0.5"));
        Assert.Contains(result.Warnings, w => w.Contains("waiting 120 s for 'routerd confirm'"));
        var last = Assert.IsType<ApplyRecord>(_apply.Last);
        Assert.Equal(ApplyState.Pending, last.State);
        Assert.Contains("over SSH", last.Why);
        Assert.True(_apply.Confirm());
    }

    [Fact]
    public async Task OverSshNoConfirmAppliesAtOnceButStillWarns()
    {
        var result = await _apply.SubmitAsync(Json(DropLabSubnet(ConfigFixture.Valid)), new ApplyOptions { Ssh = ThroughLab, NoConfirm = true }, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Contains(result.Warnings, w => w.Contains("--no-confirm"));
    }

    [Fact]
    public async Task OverSshAChangeThatKeepsThePathAppliesWithoutAWindow()
    {
        var result = await _apply.SubmitAsync(Json(ChangeLab(ConfigFixture.Valid)), new ApplyOptions { Ssh = ThroughLab }, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void RequestLineRoundTrips()
    {
        var o = new ApplyOptions { ConfirmWithin = TimeSpan.FromSeconds(7), DryRun = true, Ssh = SshSession.Parse("192.0.2.2 50000 10.77.0.1 22") };
        string line = o.RequestLine();
        Assert.Equal("apply 7 dry-run ssh=192.0.2.2,10.77.0.1\n", line);
        Assert.Equal(o, ApplyOptions.Parse(line.Trim().Split(' ')[1..]));
        Assert.Equal(new ApplyOptions(), ApplyOptions.Parse(["0"])); // what the first clients send
        Assert.Null(ApplyOptions.Parse(["0", "bogus"]));
    }

    [Fact]
    public void RecordRoundTripsThroughTheStatusJson()
    {
        var at = DateTimeOffset.Parse("2026-12-04T21:40:03Z");
        var r = new ApplyRecord(at, ApplyState.RolledBack, "no 'routerd confirm' within 5 s", ["  interfaces.wg0.addresses: [a] -> [b]"])
            { Until = at.AddSeconds(5), EndedAt = at.AddSeconds(5.2) };
        byte[] json = Router.Daemon.Firmware.PeerStatusFormat.Json([], at, apply: r);
        var back = Assert.IsType<ApplyRecord>(ApplyRecord.Parse(json));
        Assert.Equal(ApplyState.RolledBack, back.State);
        Assert.Equal(r.Why, back.Why);
        Assert.Equal(["interfaces.wg0.addresses: [a] -> [b]"], back.Changes);
        Assert.Contains("\"outcome\": \"rolled_back\"", Encoding.UTF8.GetString(json));
        Assert.StartsWith("apply: rolled back at 2026-12-04 21:40:08 UTC (applied at 2026-12-04 21:40:03 UTC, 1 change): no 'routerd confirm' within 5 s",
            Router.Daemon.Firmware.PeerStatusFormat.Text([], at, apply: back));
        Assert.Null(ApplyRecord.Parse(Router.Daemon.Firmware.PeerStatusFormat.Json([], at)));
    }
}

/// <summary>A pending apply outlives the daemon: the next daemon rolls it back before it loads the file.</summary>
public sealed class PendingAcrossRestartTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    private (ConfigStore Store, ApplyTransaction Apply, RunningConfig Running) Daemon()
    {
        var store = new ConfigStore(_f.Dir.File("router.json"));
        var running = new RunningConfig();
        var recovered = ApplyTransaction.RecoverPending(store);
        if (store.Exists)
            Assert.True(running.Offer(store.Load()).Accepted);
        return (store, new ApplyTransaction(store, running, new FakeTarget()) { Recovered = recovered }, running);
    }

    [Fact]
    public async Task RestartInsideTheWindowRollsBackAndSaysSo()
    {
        byte[] original = Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid));
        new ConfigStore(_f.Dir.File("router.json")).Write(original);
        var (store, apply, _) = Daemon();
        var result = await apply.ApplyAsync(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1400"))), TimeSpan.FromMinutes(10), CancellationToken.None);
        Assert.Equal(ApplyOutcome.AwaitingConfirm, result.Outcome);
        Assert.True(File.Exists(store.PendingPath));

        // The daemon dies inside the window (its timer with it); the next one starts.
        var (again, next, running) = Daemon();
        Assert.Equal(original, File.ReadAllBytes(again.Path));
        Assert.False(File.Exists(again.PendingPath));
        Assert.Equal(1420, running.Current!.Interface("wg0")!.Mtu);
        var last = Assert.IsType<ApplyRecord>(next.Last);
        Assert.Equal(ApplyState.RolledBack, last.State);
        Assert.Contains("the daemon stopped before 'routerd confirm'", last.Why);
        Assert.Contains("was rolled back", next.NothingToConfirm());
    }

    [Fact]
    public async Task ConfirmedApplyLeavesNoMark()
    {
        new ConfigStore(_f.Dir.File("router.json")).Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid)));
        var (store, apply, _) = Daemon();
        await apply.ApplyAsync(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1400"))), TimeSpan.FromMinutes(10), CancellationToken.None);
        Assert.True(apply.Confirm());
        Assert.False(File.Exists(store.PendingPath));
        var (_, next, running) = Daemon();
        Assert.Equal(1400, running.Current!.Interface("wg0")!.Mtu);
        Assert.Null(next.Last);
    }

    [Fact]
    public async Task FileChangedSinceThePendingApplyStays()
    {
        new ConfigStore(_f.Dir.File("router.json")).Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid)));
        var (store, apply, _) = Daemon();
        await apply.ApplyAsync(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1400"))), TimeSpan.FromMinutes(10), CancellationToken.None);
        byte[] edited = Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1380")));
        File.WriteAllBytes(store.Path, edited); // someone wrote another file meanwhile
        var (again, _, _) = Daemon();
        Assert.Equal(edited, File.ReadAllBytes(again.Path));
        Assert.False(File.Exists(again.PendingPath));
    }
}
