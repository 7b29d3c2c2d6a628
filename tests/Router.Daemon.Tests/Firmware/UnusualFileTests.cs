using System.Diagnostics;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// Files that are not small regular files, given to routerd where it expects a configuration or a key: a FIFO (which
/// used to block a reload forever, then kill the process with an unhandled exception), a directory, symlinks to
/// /dev/zero and /dev/urandom (which never end), a 20 GiB sparse file, a file that is gone. Each is refused at once
/// with its path named, in 'check', 'apply' and 'run' (at start and on reload), the daemon keeps running, and SIGTERM
/// stops it within 2 s whatever it was reading.
/// </summary>
[Trait("Category", "Interop")]
public sealed class UnusualFileTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("routerd-odd-").FullName;

    /// <summary>Each unusual file: its name in the test directory and what the refusal says.</summary>
    private static readonly (string Name, string Says)[] Kinds =
    [
        ("fifo", "not a regular file (FIFO)"),
        ("dir", "not a regular file (directory)"),
        ("zero", "not a regular file (character device)"),
        ("urandom", "not a regular file (character device)"),
        ("sparse", "larger than"),
        ("gone", "does not exist"),
    ];

    private void MakeUnusualFiles(string dir)
    {
        Sh.Run("mkfifo", Path.Combine(dir, "fifo"));
        Directory.CreateDirectory(Path.Combine(dir, "dir"));
        File.CreateSymbolicLink(Path.Combine(dir, "zero"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(dir, "urandom"), "/dev/urandom");
        using (var sparse = File.Create(Path.Combine(dir, "sparse")))
            sparse.SetLength(20L << 30);
    }

    private static void AssertNoAbort(string what, Bounded.Result r)
    {
        Assert.False(r.Stderr.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase), $"{what}: aborted:\n{r.Stderr}");
        Assert.True(r.ExitCode is 0 or 1 or 2, $"{what}: exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
    }

    [Fact]
    public void CheckAndApplyRefuseEveryUnusualFileAtOnceNamingIt()
    {
        MakeUnusualFiles(_dir);
        string key = Wg.GenKey();
        string keyPath = Path.Combine(_dir, "ok.key");
        File.WriteAllText(keyPath, key + "\n");
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string pub = Wg.PubKey(Wg.GenKey());
        var env = new Dictionary<string, string> { ["ROUTERD_CONTROL_SOCKET"] = Path.Combine(_dir, "no-daemon.sock") };
        foreach (var (name, says) in Kinds)
        {
            string odd = Path.Combine(_dir, name);
            var watch = Stopwatch.StartNew();

            // The file as the configuration itself.
            var check = Bounded.Run(Implementations.Routerd, ["check", odd], 10_000);
            AssertNoAbort($"check {name}", check);
            Assert.Equal(1, check.ExitCode);
            Assert.Contains($"{odd}: {says}", check.Stdout);

            // The file as the private key and as a peer's pre-shared key.
            string json = Path.Combine(_dir, $"with-{name}.json");
            File.WriteAllText(json, $$"""
                { "interfaces": { "wg0": { "privateKeyFile": "{{odd}}", "peers": [
                  { "name": "hq", "publicKey": "{{pub}}", "presharedKeyFile": "{{odd}}" } ] },
                  "wg1": { "privateKeyFile": "{{keyPath}}" } } }
                """);
            check = Bounded.Run(Implementations.Routerd, ["check", json], 10_000);
            AssertNoAbort($"check with {name} keys", check);
            Assert.Equal(1, check.ExitCode);
            Assert.Contains($"interfaces.wg0.privateKeyFile: error: key file", check.Stdout);
            Assert.Contains(odd, check.Stdout);
            Assert.Contains("interfaces.wg0.peers[0].presharedKeyFile: error:", check.Stdout);
            Assert.DoesNotContain("wg1", check.Stdout);

            // 'routerd apply FILE' reads the file on the client side before it talks to any daemon.
            var apply = Bounded.Run(Implementations.Routerd, ["apply", odd], 10_000, env);
            AssertNoAbort($"apply {name}", apply);
            Assert.Equal(1, apply.ExitCode);
            Assert.Contains($"{odd}: {says}", apply.Stderr);
            output.WriteLine($"{name}: check, check with keys, apply refused in {watch.ElapsedMilliseconds} ms: {check.Stdout.Split('\n')[0]}");
        }
    }

    /// <summary>The configuration is a FIFO when routerd starts (it used to hang in the first load, deaf to SIGTERM).</summary>
    [RootFact]
    public void RunWaitsOnAFifoConfigurationAndStopsWithin2sOfSigterm()
    {
        using var rig = new FirmwareRig();
        try
        {
            Sh.Run("mkfifo", rig.ConfigPath);
            rig.StartRouterd();
            Assert.True(Wait.Until(() => rig.Log.Contains("waiting for a valid configuration"), 10_000), "no 'waiting':\n" + rig.Log);
            Assert.Contains($"{rig.ConfigPath}: not a regular file (FIFO)", rig.Log);
            // SIGHUP rereads it: refused again, still no hang.
            rig.Signal("HUP");
            Assert.True(Wait.Until(() => rig.Log.Split('\n').Count(l => l.Contains("not a regular file (FIFO)")) >= 2, 5_000), rig.Log);
            StopWithin2s(rig);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    /// <summary>
    /// A running router given unusual files by reload (file watch and SIGHUP) and by 'routerd apply': each is refused,
    /// the tunnel keeps working, and SIGTERM in the middle of an apply that waits for a peer still stops it within 2 s.
    /// </summary>
    [RootFact]
    public void RunRefusesUnusualFilesOnReloadAndApplyKeepsTheTunnelAndStopsWithin2s()
    {
        using var rig = new FirmwareRig();
        try
        {
            MakeUnusualFiles(rig.Dir);
            rig.StartWireguardGo();
            string valid = rig.Config(keepalive: 25);
            rig.WriteConfig(valid);
            rig.StartRouterd(env: new Dictionary<string, string> { ["ROUTERD_PROBE_TIMEOUT"] = "20" });
            Assert.True(rig.WaitForUapi(), "did not come up:\n" + rig.Log);
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 10_000), "no ping:\n" + rig.Log);

            int refusals = 0;
            void ExpectRefusal(string what, params string[] says)
            {
                refusals++;
                Assert.True(Wait.Until(() => rig.Log.Split('\n').Count(l => l.Contains("the new file was refused")) >= refusals, 10_000),
                    $"{what}: no refusal #{refusals}:\n{rig.Log}");
                foreach (var s in says)
                    Assert.Contains(s, rig.Log);
                Assert.False(rig.Routerd!.HasExited, $"{what}: routerd exited:\n{rig.Log}");
                Assert.True(rig.Ping("10.77.0.2", 1), $"{what}: tunnel lost:\n{rig.Log}");
                output.WriteLine($"{what}: refused, tunnel up");
            }

            // The private key becomes each unusual file in turn (the file watch reloads).
            foreach (var (name, says) in Kinds)
            {
                string odd = Path.Combine(rig.Dir, name);
                rig.WriteConfig(valid.Replace($"{rig.Dir}/a.key", odd));
                ExpectRefusal($"private key {name}", $"privateKeyFile: error: key file ", odd, says);
            }

            // A key file that vanishes between the change and the reload (the reload runs 0.5 s after the last change).
            rig.WriteKey("vanishing.key", rig.KeyA);
            rig.WriteConfig(valid.Replace($"{rig.Dir}/a.key", $"{rig.Dir}/vanishing.key"));
            File.Delete(Path.Combine(rig.Dir, "vanishing.key"));
            ExpectRefusal("vanished key", $"key file '{rig.Dir}/vanishing.key' does not exist");

            // router.json itself replaced by a FIFO, then by a symlink to /dev/zero; SIGHUP rereads it as well.
            string fifo = Path.Combine(rig.Dir, "router.fifo");
            Sh.Run("mkfifo", fifo);
            File.Move(fifo, rig.ConfigPath, overwrite: true);
            ExpectRefusal("router.json a FIFO", $"{rig.ConfigPath}: not a regular file (FIFO)");
            rig.Signal("HUP");
            ExpectRefusal("router.json a FIFO, SIGHUP", $"{rig.ConfigPath}: not a regular file (FIFO)");
            File.Delete(rig.ConfigPath);
            File.CreateSymbolicLink(rig.ConfigPath, "/dev/zero");
            ExpectRefusal("router.json -> /dev/zero", $"{rig.ConfigPath}: not a regular file (character device)");

            // 'routerd apply' with an unusual pre-shared key file: refused by the daemon, nothing changes.
            string withPsk = valid.Replace("\"endpoint\": \"192.0.2.2:51820\"", $"\"presharedKeyFile\": \"{rig.Dir}/fifo\", \"endpoint\": \"192.0.2.2:51820\"");
            var apply = rig.Cli("apply -", withPsk, 20_000);
            Assert.True(apply.Exit == 1, $"apply with a FIFO psk: exit {apply.Exit}\n{apply.Stdout}\n{apply.Stderr}");
            Assert.Contains($"{rig.Dir}/fifo: not a regular file (FIFO)", apply.Stderr);
            Assert.True(rig.Ping("10.77.0.2", 1), "tunnel lost after the refused apply:\n" + rig.Log);

            // A slow apply: the peer moves to an address nobody answers, so the daemon waits up to 20 s for its
            // handshake before rolling back. SIGTERM meanwhile stops routerd within 2 s.
            File.Delete(rig.ConfigPath);
            rig.WriteConfig(valid);
            string moved = valid.Replace("192.0.2.2:51820", "192.0.2.77:51820");
            var slow = Task.Run(() => rig.Cli("apply -", moved, 60_000));
            Assert.True(Wait.Until(() => rig.Log.Contains("apply: waiting up to"), 15_000), "the apply did not start probing:\n" + rig.Log);
            StopWithin2s(rig);
            Assert.True(slow.Wait(10_000), "the apply client did not return after the daemon stopped");
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    private void StopWithin2s(FirmwareRig rig)
    {
        var p = rig.Routerd!;
        Assert.False(p.HasExited, "routerd exited before SIGTERM:\n" + rig.Log);
        var watch = Stopwatch.StartNew();
        Sh.Run("kill", $"-TERM {p.Id}");
        bool exited = p.WaitForExit(10_000);
        long ms = watch.ElapsedMilliseconds;
        output.WriteLine($"SIGTERM -> exit: {ms} ms (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        Assert.True(exited, "routerd did not exit within 10 s of SIGTERM:\n" + rig.Log);
        p.WaitForExit(); // drains the redirected output
        Assert.True(ms <= 2000, $"routerd took {ms} ms to exit after SIGTERM (bound 2000):\n{rig.Log}");
        Assert.Equal(0, p.ExitCode);
        Assert.DoesNotContain("Unhandled exception", rig.Log, StringComparison.OrdinalIgnoreCase);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
