using System.Text;
using Router.Daemon.Apply;
using Router.Daemon.Config;
using Router.Daemon.Tests.Config;

namespace Router.Daemon.Tests.Apply;

/// <summary>The engine as the apply logic sees it: which peers were up, which answer after the change.</summary>
internal sealed class FakeTarget : IConfigTarget
{
    public List<(RouterConfig Config, ConfigDiff Diff)> Applied { get; } = [];
    public List<PeerRef> Probed { get; } = [];
    public HashSet<PeerRef> Up { get; } = [];
    public HashSet<PeerRef> Silent { get; } = [];
    public Dictionary<PeerRef, string> Causes { get; } = [];

    public bool FailNextApply { get; set; }

    public Task ApplyAsync(RouterConfig config, ConfigDiff diff, CancellationToken cancel)
    {
        if (FailNextApply)
        {
            FailNextApply = false;
            throw new IOException("rtnetlink said no (simulated)");
        }
        Applied.Add((config, diff));
        return Task.CompletedTask;
    }

    public IReadOnlyCollection<PeerRef> UpPeers() => Up.ToArray();

    public Task<IReadOnlyList<PeerRef>> ProbeAsync(IReadOnlyList<PeerRef> peers, TimeSpan timeout, CancellationToken cancel)
    {
        Probed.AddRange(peers);
        return Task.FromResult<IReadOnlyList<PeerRef>>(peers.Where(Silent.Contains).ToArray());
    }

    public string? WhySilent(PeerRef peer) => Causes.TryGetValue(peer, out var cause) ? cause : null;
}

public sealed class ApplyTransactionTests : IDisposable
{
    private readonly ConfigFixture _f = new();
    private readonly ConfigStore _store;
    private readonly RunningConfig _running = new();
    private readonly FakeTarget _target = new();
    private readonly ApplyTransaction _apply;
    private readonly PeerRef _hq = new("wg0", Key(ConfigFixture.PeerKeyA));
    private readonly PeerRef _lab = new("wg0", Key(ConfigFixture.PeerKeyB));

    public ApplyTransactionTests()
    {
        _store = new ConfigStore(_f.Dir.File("router.json"));
        _store.Write(Json(ConfigFixture.Valid));
        Assert.True(_running.Offer(_store.Load()).Accepted);
        _apply = new ApplyTransaction(_store, _running, _target);
        _target.Up.Add(_hq);
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

    [Fact]
    public async Task InvalidConfigChangesNothing()
    {
        byte[] before = File.ReadAllBytes(_store.Path);
        var result = await _apply.ApplyAsync(Json("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'mtu': 1 } } }"), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Invalid, result.Outcome);
        Assert.Equal(1, result.ExitStatus);
        Assert.Contains(result.Problems, p => p.Path == "interfaces.wg0.mtu");
        Assert.Equal(before, File.ReadAllBytes(_store.Path));
        Assert.Empty(_target.Applied);
    }

    [Fact]
    public async Task ChangeIsWrittenAppliedAndOnlyTouchedPeersProbed()
    {
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Contains("fd00:21::/64", File.ReadAllText(_store.Path));
        Assert.Contains("fd00:20::/64", File.ReadAllText(_store.PreviousPath));
        var (_, diff) = Assert.Single(_target.Applied);
        Assert.Equal("lab", Assert.Single(Assert.Single(diff.InterfacesChanged).PeersChanged).Name);
        Assert.Equal([_lab], _target.Probed); // hq's session is untouched: no probe, no rollback risk
    }

    [Fact]
    public async Task SilentPeerAfterTheChangeRollsBack()
    {
        byte[] original = File.ReadAllBytes(_store.Path);
        _target.Silent.Add(_lab);
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.RolledBack, result.Outcome);
        Assert.Contains("wg0/lab", result.Message);
        Assert.Equal(original, File.ReadAllBytes(_store.Path));
        Assert.Equal(2, _target.Applied.Count);
        Assert.Contains("fd00:20::/64", _running.Current!.Interface("wg0")!.Peers[1].AllowedIps.Select(p => p.ToString()));
    }

    [Fact]
    public async Task PeerWhosePublicKeyChangedIsProbedUnderTheNewKeyAndRollsBackWhenSilent()
    {
        byte[] original = File.ReadAllBytes(_store.Path);
        var newKey = new PeerRef("wg0", Key(ConfigFixture.PeerKeyC));
        _target.Silent.Add(newKey); // the site does not hold the private key for the new public key
        var result = await _apply.ApplyAsync(Json(ConfigFixture.Valid.Replace("'publicKey': '$B'", "'publicKey': '$C'")), null, CancellationToken.None);
        Assert.Equal([newKey], _target.Probed);
        Assert.Equal(ApplyOutcome.RolledBack, result.Outcome);
        Assert.Equal(1, result.ExitStatus);
        Assert.Contains("wg0/lab (under its new public key", result.Message);
        Assert.Equal(original, File.ReadAllBytes(_store.Path));
        Assert.NotNull(_running.Current!.Interface("wg0")!.Peer(Key(ConfigFixture.PeerKeyB)));
    }

    [Fact]
    public async Task PeerRemovedOnPurposeIsNotProbed()
    {
        string json = _f.Expand(ConfigFixture.Valid);
        json = System.Text.RegularExpressions.Regex.Replace(json, @",\s*\{ ""name"": ""lab""[^}]*\}", "");
        json = json.Replace(", 'lab': { 'gpio': 27, 'activeLow': true }".Replace('\'', '"'), "");
        var result = await _apply.ApplyAsync(Encoding.UTF8.GetBytes(json), null, CancellationToken.None);
        Assert.True(result.Outcome == ApplyOutcome.Applied, result.Message + string.Join("; ", result.Problems));
        Assert.Empty(_target.Probed);
    }

    [Fact]
    public async Task FailureWhileApplyingRollsBack()
    {
        byte[] original = File.ReadAllBytes(_store.Path);
        _target.FailNextApply = true;
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.RolledBack, result.Outcome);
        Assert.Contains("rtnetlink said no", result.Message);
        Assert.Equal(original, File.ReadAllBytes(_store.Path));
    }

    [Fact]
    public async Task SilentPeerThatWasNotTouchedDoesNotRollBack()
    {
        _target.Silent.Add(_hq);
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
    }

    [Fact]
    public async Task SameConfigIsUnchanged()
    {
        var result = await _apply.ApplyAsync(Json(ConfigFixture.Valid), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Unchanged, result.Outcome);
        Assert.Empty(_target.Applied);
    }

    [Fact]
    public async Task UnconfirmedApplyRollsBack()
    {
        byte[] original = File.ReadAllBytes(_store.Path);
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), TimeSpan.FromMilliseconds(300), CancellationToken.None);
        Assert.Equal(ApplyOutcome.AwaitingConfirm, result.Outcome);
        Assert.Equal(0, result.ExitStatus);
        Assert.Equal(ApplyOutcome.Busy, (await _apply.ApplyAsync(Json(ConfigFixture.Valid), null, CancellationToken.None)).Outcome);
        await _apply.ConfirmWindow.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(original, File.ReadAllBytes(_store.Path));
        Assert.Equal(2, _target.Applied.Count);
        Assert.False(_apply.Confirm());
    }

    [Fact]
    public async Task ConfirmedApplyStays()
    {
        var result = await _apply.ApplyAsync(Json(ChangeLab(ConfigFixture.Valid)), TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(ApplyOutcome.AwaitingConfirm, result.Outcome);
        Assert.True(_apply.Confirm());
        await _apply.ConfirmWindow.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("fd00:21::/64", File.ReadAllText(_store.Path));
        Assert.Single(_target.Applied);
        Assert.False(_apply.AwaitingConfirm);
    }

    [Fact]
    public async Task NewPrivateKeyProbesEveryPeerThatWasUp()
    {
        var result = await _apply.ApplyAsync(Json(ConfigFixture.Valid.Replace("'privateKeyFile': '$KEY'", "'privateKeyFile': '$KEY1'")), null, CancellationToken.None);
        Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        Assert.Equal(2, _target.Probed.Count);
    }
}
