using System.Text;
using Router.Daemon.Config;

namespace Router.Daemon.Tests.Config;

public sealed class ConfigStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void WriteKeepsThePreviousFile()
    {
        var store = new ConfigStore(_dir.File("router.json"));
        store.Write("one"u8);
        store.Write("two"u8);
        Assert.Equal("two", File.ReadAllText(store.Path));
        Assert.Equal("one", File.ReadAllText(store.PreviousPath));
        Assert.True(store.RestorePrevious());
        Assert.Equal("one", File.ReadAllText(store.Path));
    }

    [Fact]
    public void FailedWriteLeavesTheOldFileAndNoTemporary()
    {
        var store = new ConfigStore(_dir.File("router.json"));
        store.Write("old"u8);
        Assert.Throws<IOException>(() => store.Write("new"u8, beforeRename: () => throw new IOException("disk full (simulated)")));
        Assert.Equal("old", File.ReadAllText(store.Path));
        Assert.Equal(new[] { "router.json", "router.json.prev" }, Directory.GetFiles(_dir.Path).Select(p => Path.GetFileName(p)).Order().ToArray());
    }

    [Fact]
    public void AtomicWriteSetsTheModeItIsGiven()
    {
        string path = _dir.File("secret");
        AtomicFile.Write(path, "x"u8, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }
}

/// <summary>The seed on the FAT boot partition (here: a plain temp directory standing in for it).</summary>
public sealed class SeedImportTests : IDisposable
{
    private readonly ConfigFixture _f = new();
    private readonly TempDirectory _boot = new();
    private readonly ConfigStore _store;
    private readonly string _marker;

    public SeedImportTests()
    {
        _store = new ConfigStore(_f.Dir.File("router.json"));
        _marker = _f.Dir.File(".seed-imported");
    }

    public void Dispose()
    {
        _boot.Dispose();
        _f.Dispose();
    }

    private SeedImport Seed() => new(_boot.File("router.json"), _store, _marker);

    private void WriteSeed(string json) => File.WriteAllText(_boot.File("router.json"), _f.Expand(json));

    [Fact]
    public void NoSeedDoesNothing()
        => Assert.Equal(SeedImportOutcome.NoSeed, Seed().Run().Outcome);

    [Fact]
    public void ValidSeedIsImportedOnceAndLaterChangesOverSshSurvive()
    {
        WriteSeed(ConfigFixture.Valid);
        var first = Seed().Run();
        Assert.Equal(SeedImportOutcome.Imported, first.Outcome);
        Assert.Equal(File.ReadAllBytes(_boot.File("router.json")), File.ReadAllBytes(_store.Path));
        Assert.StartsWith("sha256:", File.ReadAllText(_marker));

        // An apply over SSH changes the canonical file; the unchanged seed must not undo it at the next boot.
        _store.Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid.Replace("51820, 'addresses'", "51821, 'addresses'"))));
        byte[] afterApply = File.ReadAllBytes(_store.Path);
        Assert.Equal(SeedImportOutcome.Unchanged, Seed().Run().Outcome);
        Assert.Equal(afterApply, File.ReadAllBytes(_store.Path));

        // Editing the seed again on the laptop imports it again.
        WriteSeed(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1400"));
        Assert.Equal(SeedImportOutcome.Imported, Seed().Run().Outcome);
        Assert.Contains("1400", File.ReadAllText(_store.Path));
    }

    [Fact]
    public void InvalidSeedKeepsTheCurrentConfigAndIsReportedAgain()
    {
        _store.Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid)));
        byte[] current = File.ReadAllBytes(_store.Path);
        WriteSeed("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'listenPort': 99999 } } }");

        var result = Seed().Run();
        Assert.Equal(SeedImportOutcome.Invalid, result.Outcome);
        Assert.Contains(result.Problems, p => p.Path == "interfaces.wg0.listenPort" && p.IsError);
        Assert.Equal(current, File.ReadAllBytes(_store.Path));
        Assert.False(File.Exists(_store.PreviousPath));
        // Not recorded as imported: the next start says so again until the seed is fixed.
        Assert.Equal(SeedImportOutcome.Invalid, Seed().Run().Outcome);
    }
}
