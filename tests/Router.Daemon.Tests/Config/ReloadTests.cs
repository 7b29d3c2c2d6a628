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
    public void WatcherSeesKeyFilesAlsoInADirectoryMadeLaterAndNamesWhatChanged()
    {
        string path = _f.Dir.File("router.json");
        new ConfigStore(path).Write("{}"u8);
        string key = Path.Combine(_f.Dir.File("keys"), "sub", "wg0.key");
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var fired = new SemaphoreSlim(0);
        using var watcher = new ConfigWatcher(path, (string changed) => { seen.Enqueue(changed); fired.Release(); }, TimeSpan.FromMilliseconds(200));
        watcher.Watch([key]);

        // A file beside router.json that is neither it nor a key: no callback.
        File.WriteAllText(_f.Dir.File("notes.txt"), "x");
        Assert.False(fired.Wait(TimeSpan.FromMilliseconds(800)), "called back for an unrelated file: " + string.Join(", ", seen));

        // mkdir -p: the nearest existing directory sees "keys" appear; the daemon's reload then watches again.
        Directory.CreateDirectory(Path.GetDirectoryName(key)!);
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "mkdir not seen");
        watcher.Watch([key]); // as the reload does: now the key's own directory is watched, and that looks once more
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "no look after the new directory was watched");
        while (fired.Wait(TimeSpan.FromMilliseconds(500))) { } // drain anything left of the burst
        seen.Clear();

        File.WriteAllText(key + ".tmp", "k");
        File.Move(key + ".tmp", key);
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "mv of the key file not seen");
        Assert.Equal([key], seen);

        File.WriteAllText(key, "rotated");
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "write in place not seen");
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.True(fired.Wait(TimeSpan.FromSeconds(10)), "chmod not seen");
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
