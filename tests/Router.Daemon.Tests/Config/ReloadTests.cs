using System.Text;
using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

/// <summary>A reload swaps in only a valid file; a broken, half-written or vanished file leaves the running one.</summary>
public sealed class ReloadTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void InvalidFileLeavesTheRunningConfigurationUntouched()
    {
        var running = new RunningConfig();
        var first = running.Offer(_f.Load(ConfigFixture.Valid));
        Assert.True(first.Accepted);
        var current = running.Current;

        foreach (var bad in new[] { "", "{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', ", "{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'listenPort': -1 } } }" })
        {
            var outcome = running.Offer(_f.Load(bad));
            Assert.False(outcome.Accepted);
            Assert.NotEmpty(outcome.Problems);
            Assert.Same(current, running.Current);
        }
        var missing = running.Offer(ConfigLoader.Load(_f.Dir.File("gone.json")));
        Assert.False(missing.Accepted);
        Assert.Same(current, running.Current);
    }

    [Fact]
    public void ValidFileIsSwappedInWithTheDiffAgainstWhatRan()
    {
        var running = new RunningConfig();
        running.Offer(_f.Load(ConfigFixture.Valid));
        var before = running.Current;
        var outcome = running.Offer(_f.Load(ConfigFixture.Valid.Replace("'persistentKeepalive': 25", "'persistentKeepalive': 10")));
        Assert.True(outcome.Accepted);
        Assert.Same(before, outcome.Replaced);
        var peer = Assert.Single(Assert.Single(outcome.Diff!.InterfacesChanged).PeersChanged);
        Assert.Equal("hq", peer.Name);
        Assert.Equal(PeerFields.PersistentKeepalive, peer.Fields);
        outcome.Replaced!.Dispose();
        running.Current!.Dispose();
    }

    [Fact]
    public void WatcherSeesAnAtomicReplaceOnce()
    {
        string path = _f.Dir.File("router.json");
        var store = new ConfigStore(path);
        store.Write("{}"u8);
        int calls = 0;
        using var fired = new SemaphoreSlim(0);
        using var watcher = new ConfigWatcher(path, () => { Interlocked.Increment(ref calls); fired.Release(); }, TimeSpan.FromMilliseconds(200));
        store.Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid)));
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "no change seen");
        Thread.Sleep(500);
        Assert.Equal(1, Volatile.Read(ref calls));
    }
}
