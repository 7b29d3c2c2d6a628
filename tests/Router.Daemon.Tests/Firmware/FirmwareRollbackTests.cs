using System.Diagnostics;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// 'routerd apply' rollbacks with real peers: a peer's public key replaced by one the site does not hold (the
/// handshake fails, the old peer and its tunnel come back), and a change sent over a real SSH session through the
/// tunnel that cuts that session's own path (no 'routerd confirm' can arrive: the daemon rolls back and SSH works again).
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirmwareRollbackTests(ITestOutputHelper output)
{
    private const int SshPort = 2222;

    [RootFact]
    public void ApplyReplacingAPeerKeyTheSiteDoesNotHoldRollsBackToTheWorkingTunnel()
    {
        using var rig = new FirmwareRig();
        try
        {
            rig.StartWireguardGo();
            string original = rig.Config(keepalive: 25);
            rig.WriteConfig(original);
            rig.StartRouterd(env: new Dictionary<string, string> { ["ROUTERD_PROBE_TIMEOUT"] = "6" });
            Assert.True(rig.WaitForUapi(), rig.Log);
            Assert.True(rig.Ping("10.77.0.2"), "the tunnel works before the apply");

            string stranger = Wg.PubKey(Wg.GenKey());
            var watch = Stopwatch.StartNew();
            var apply = rig.Cli("apply", stdin: original.Replace(rig.PubB, stranger));
            long answered = watch.ElapsedMilliseconds;
            output.WriteLine($"apply with hq's key replaced: exit {apply.Exit} after {answered} ms: {apply.Stdout.Trim()}");
            Assert.Equal(1, apply.Exit);
            Assert.Contains("rolled back", apply.Stdout);
            Assert.Contains($"{rig.IfA}/hq (under its new public key", apply.Stdout);
            // The likely cause: the far side never answered a key it does not hold, and this change made that key.
            Assert.Contains("no answer from 192.0.2.2:51820", apply.Stdout);
            Assert.Contains("this change gave it a new public key", apply.Stdout);
            Assert.Contains($"interfaces.{rig.IfA}.peers[0].publicKey (hq): {rig.PubB} -> {stranger}", apply.Stdout); // the diff
            Assert.Equal(original, File.ReadAllText(rig.ConfigPath));
            string peers = rig.A.Exec("wg", $"show {rig.IfA} peers");
            Assert.Contains(rig.PubB, peers);
            Assert.DoesNotContain(stranger, peers);
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 15_000), "the old session did not come back:\n" + rig.Log);
            output.WriteLine($"ping through the restored peer {watch.ElapsedMilliseconds - answered} ms after apply answered");
            Assert.Contains("apply: rolled back", rig.Log);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void UnconfirmedApplyOverSshThatCutsTheSessionRollsBackAndSshWorksAgain()
    {
        Assert.True(File.Exists("/usr/sbin/sshd"), "needs Debian's openssh-server (scripts/install-deps.sh test)");
        var rig = new FirmwareRig(); // disposed in finally, before the privilege-separation directory
        SshServer? sshd = null;
        Process? session = null;
        try
        {
            rig.StartWireguardGo();
            string original = rig.Config(keepalive: 25);
            rig.WriteConfig(original);
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);

            // sshd in A, with a throwaway host key and a key-only root login for a key made here.
            sshd = new SshServer(rig, rig.A, "10.77.0.1", SshPort);
            string ssh = sshd.Options;
            string routerd = $"env ROUTERD_CONTROL_SOCKET={rig.ControlSocket} ROUTERD_STATUS_SOCKET={rig.StatusSocket} {Implementations.Routerd}";
            var baseline = Stopwatch.StartNew();
            Assert.True(Wait.Until(() => Ok(() => rig.B.Exec("ssh", $"{ssh} true")), 15_000), "no SSH through the tunnel before the apply:\n" + rig.Log);
            baseline.Restart();
            rig.B.Exec("ssh", $"{ssh} true");
            output.WriteLine($"one SSH login through the tunnel takes {baseline.ElapsedMilliseconds} ms here");

            // The new file moves A's tunnel address: the session's own address (10.77.0.1) disappears.
            string cutting = original.Replace("\"10.77.0.1/24\"", "\"10.77.9.1/24\"");
            Assert.NotEqual(original, cutting);
            session = Sh.Start("ip", $"netns exec {rig.B.Name} ssh {ssh} {routerd} apply --confirm 5", redirectStdin: true);
            var sessionOut = session.StandardOutput.ReadToEndAsync();
            var sessionErr = session.StandardError.ReadToEndAsync();
            session.StandardInput.Write(cutting);
            session.StandardInput.Close();

            Assert.True(Wait.Until(() => FirmwareLinkTests.Addresses(rig.A, rig.IfA).SequenceEqual(["10.77.9.1/24"]), 20_000),
                "the apply did not land: " + string.Join(" ", FirmwareLinkTests.Addresses(rig.A, rig.IfA)) + "\n" + rig.Log);
            var cut = Stopwatch.StartNew();
            Assert.False(Ok(() => rig.B.Exec("ping", "-c 1 -W 1 10.77.0.1")), "the SSH path still answers after the cutting apply");
            Assert.Equal(cutting, File.ReadAllText(rig.ConfigPath));

            Assert.True(Wait.Until(() => FirmwareLinkTests.Addresses(rig.A, rig.IfA).SequenceEqual(["10.77.0.1/24"]), 20_000),
                "not rolled back: " + string.Join(" ", FirmwareLinkTests.Addresses(rig.A, rig.IfA)) + "\n" + rig.Log);
            long restored = cut.ElapsedMilliseconds;
            Assert.Equal(original, File.ReadAllText(rig.ConfigPath));
            Assert.Contains("no 'routerd confirm' within 5 s: rolled back", rig.Log);

            var attempts = new List<string>();
            Assert.True(Wait.Until(() =>
            {
                var attempt = Stopwatch.StartNew();
                bool ok = Ok(() => rig.B.Exec("ssh", $"{ssh} true"));
                attempts.Add($"{(ok ? "ok" : "failed")} after {attempt.ElapsedMilliseconds} ms");
                return ok;
            }, 30_000), "SSH does not work again after the rollback:\n" + rig.Log);
            output.WriteLine("SSH attempts after the rollback: " + string.Join(", ", attempts));
            long sshBack = cut.ElapsedMilliseconds;
            string shown = rig.B.Exec("ssh", $"{ssh} {routerd} show");
            Assert.Contains("peer: hq", shown);
            output.WriteLine($"address back {restored} ms after the cut was seen; a new SSH session works after {sshBack} ms");

            bool ended = session.WaitForExit(30_000);
            output.WriteLine($"the cut SSH session: {(ended ? $"ended with {session.ExitCode}" : "still hanging after 30 s")}; "
                             + $"stdout: {(ended ? sessionOut.Result.Trim() : "")} stderr: {(ended ? sessionErr.Result.Trim() : "")}");
        }
        finally
        {
            if (session is { HasExited: false })
            {
                session.Kill(entireProcessTree: true);
                session.WaitForExit(5_000);
            }
            session?.Dispose();
            rig.Dispose(); // stops sshd and its sessions before the privilege-separation directory goes
            sshd?.Dispose();
            output.WriteLine(rig.Log);
        }
    }

    private static bool Ok(Action action)
    {
        try
        {
            action();
            return true;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            return false;
        }
    }
}
