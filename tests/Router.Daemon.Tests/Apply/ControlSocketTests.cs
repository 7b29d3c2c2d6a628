using System.Text;
using Router.Daemon.Apply;
using Router.Daemon.Commands;
using Router.Daemon.Config;
using Router.Daemon.Tests.Config;

namespace Router.Daemon.Tests.Apply;

/// <summary>'routerd apply' and 'routerd confirm' against a daemon's control socket (the engine faked).</summary>
public sealed class ControlSocketTests : IDisposable
{
    private readonly ConfigFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public async Task ApplyFromStdinThenConfirm()
    {
        var store = new ConfigStore(_f.Dir.File("router.json"));
        store.Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid)));
        var running = new RunningConfig();
        running.Offer(store.Load());
        var target = new FakeTarget();
        var apply = new ApplyTransaction(store, running, target);
        string socket = _f.Dir.File("control.sock");
        await using var control = ControlSocket.Start(socket, apply);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));

        var output = new StringWriter();
        var error = new StringWriter();
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1380"))));
        int status = await Task.Run(() => ApplyCommand.Apply("-", "60", output, error, socket, stdin));
        Assert.True(status == 0, output + error.ToString());
        Assert.Contains("applied; run 'routerd confirm' within 60 s", output.ToString());
        Assert.Contains("1380", File.ReadAllText(store.Path));

        output = new StringWriter();
        Assert.Equal(0, await Task.Run(() => ApplyCommand.Confirm(output, error, socket)));
        Assert.Contains("confirmed", output.ToString());
        Assert.Equal(1, await Task.Run(() => ApplyCommand.Confirm(output, error, socket)));
    }

    [Fact]
    public async Task InvalidApplyPrintsTheProblemsAndExitsOne()
    {
        var store = new ConfigStore(_f.Dir.File("router.json"));
        var apply = new ApplyTransaction(store, new RunningConfig(), new FakeTarget());
        string socket = _f.Dir.File("control.sock");
        await using var control = ControlSocket.Start(socket, apply);
        string file = _f.Dir.Write("new.json", _f.Expand("{ 'interfaces': { 'wg0': { 'privateKeyFile': '$KEY', 'listenPort': 70000 } } }"));
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(1, await Task.Run(() => ApplyCommand.Apply(file, null, output, error, socket)));
        Assert.Contains("interfaces.wg0.listenPort: error: 70000 is out of range", error.ToString());
        Assert.Contains("refused", output.ToString());
        Assert.False(File.Exists(store.Path));
    }

    [Fact]
    public async Task DryRunThroughTheSocketPrintsTheChangesAndTouchesNothing()
    {
        var store = new ConfigStore(_f.Dir.File("router.json"));
        store.Write(Encoding.UTF8.GetBytes(_f.Expand(ConfigFixture.Valid)));
        var running = new RunningConfig();
        running.Offer(store.Load());
        var target = new FakeTarget();
        var apply = new ApplyTransaction(store, running, target);
        string socket = _f.Dir.File("control.sock");
        await using var control = ControlSocket.Start(socket, apply);
        byte[] before = File.ReadAllBytes(store.Path);
        string file = _f.Dir.Write("new.json", _f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1380")));
        var output = new StringWriter();
        var error = new StringWriter();
        int status = await Task.Run(() => ApplyCommand.Apply(file, null, output, error, socket, dryRun: true, configPath: store.Path));
        Assert.True(status == 0, output + error.ToString());
        Assert.Equal("would change:\n  interfaces.wg0.mtu: 1420 -> 1380\ndry run: the configuration is valid; 1 change(s); nothing was written or applied\n", output.ToString());
        Assert.Equal(before, File.ReadAllBytes(store.Path));
        Assert.Empty(target.Applied);
        Assert.Null(apply.Last);
    }

    [Fact]
    public void DryRunWithoutADaemonComparesWithTheFileOnDisk()
    {
        string config = _f.Dir.Write("router.json", _f.Expand(ConfigFixture.Valid));
        byte[] before = File.ReadAllBytes(config);
        string file = _f.Dir.Write("new.json", _f.Expand(ConfigFixture.Valid.Replace("'mtu': 1420", "'mtu': 1380")));
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, ApplyCommand.Apply(file, null, output, error, _f.Dir.File("none.sock"), dryRun: true, configPath: config));
        Assert.Contains("  interfaces.wg0.mtu: 1420 -> 1380", output.ToString());
        Assert.Contains($"compared with {config} on disk", error.ToString());
        Assert.Equal(before, File.ReadAllBytes(config));
        Assert.False(File.Exists(config + ".prev"));
    }

    [Fact]
    public void NoDaemonIsAClearError()
    {
        var error = new StringWriter();
        Assert.Equal(1, ApplyCommand.Confirm(TextWriter.Null, error, _f.Dir.File("none.sock")));
        Assert.Contains("is 'routerd run' active?", error.ToString());
    }
}
