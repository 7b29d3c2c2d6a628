using System.Diagnostics;
using System.Text.Json;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// Issue 16 pt 4 with a real daemon, a real tunnel and a real SSH session through it: `apply --dry-run` over SSH shows
/// the diff and the SSH warning and touches nothing; a plain `apply` (no --confirm) whose change moves the session's
/// own address gets the default confirm window by itself; the SSH client is then killed (the session is cut), the
/// daemon rolls back at the deadline on its own, and afterwards `show`, `confirm` and the next `apply`, from a new
/// session, all say "rolled back", never success.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FirmwareApplyTruthTests(ITestOutputHelper output)
{
    private const int SshPort = 2223;
    private const int Window = 8; // ROUTERD_SSH_CONFIRM: the default window over SSH, short for the test

    [RootFact]
    public void CutSshSessionIsRolledBackByTheDaemonAndReportedAsRolledBackEverAfter()
    {
        Assert.True(File.Exists("/usr/sbin/sshd"), "needs Debian's openssh-server (scripts/install-deps.sh test)");
        var rig = new FirmwareRig();
        SshServer? sshd = null;
        Process? session = null;
        try
        {
            rig.StartWireguardGo();
            string original = rig.Config(keepalive: 25);
            rig.WriteConfig(original);
            rig.StartRouterd(env: new Dictionary<string, string> { ["ROUTERD_SSH_CONFIRM"] = Window.ToString(), ["ROUTERD_PROBE_TIMEOUT"] = "10" });
            Assert.True(rig.WaitForUapi(), rig.Log);
            sshd = new SshServer(rig, rig.A, "10.77.0.1", SshPort);
            string routerd = $"env ROUTERD_CONTROL_SOCKET={rig.ControlSocket} ROUTERD_STATUS_SOCKET={rig.StatusSocket} {Implementations.Routerd}";
            Assert.True(Wait.Until(() => Ssh(rig, sshd, "true").Exit == 0, 15_000), "no SSH through the tunnel:\n" + rig.Log);

            // The new file moves A's tunnel address: the SSH session's own server address (10.77.0.1) disappears.
            string cutting = original.Replace("\"10.77.0.1/24\"", "\"10.77.9.1/24\"");
            byte[] fileBefore = File.ReadAllBytes(rig.ConfigPath);

            // 1. Dry run over SSH: the diff and the warning, nothing touched.
            var dry = Ssh(rig, sshd, $"{routerd} apply --dry-run", cutting);
            output.WriteLine($"dry run over SSH: exit {dry.Exit}\nstdout:\n{dry.Stdout}stderr:\n{dry.Stderr}");
            Assert.Equal(0, dry.Exit);
            Assert.Contains("would change:", dry.Stdout);
            Assert.Contains($"interfaces.{rig.IfA}.addresses: [10.77.0.1/24] -> [10.77.9.1/24]", dry.Stdout);
            Assert.Contains("nothing was written or applied", dry.Stdout);
            Assert.Contains("warning: this change cuts the path of this SSH session (from 10.77.0.2 to 10.77.0.1)", dry.Stderr);
            Assert.Contains($"applying it would wait {Window} s for 'routerd confirm'", dry.Stderr);
            Assert.Equal(fileBefore, File.ReadAllBytes(rig.ConfigPath));
            Assert.False(File.Exists(rig.ConfigPath + ".prev"), "a dry run wrote router.json.prev");
            Assert.Equal(["10.77.0.1/24"], FirmwareLinkTests.Addresses(rig.A, rig.IfA));
            Assert.Equal(JsonValueKind.Null, ShowJson(rig).GetProperty("apply").ValueKind);

            // 2. The real apply, no --confirm: over SSH and cutting, it gets the default window by itself.
            var started = Stopwatch.StartNew();
            session = Sh.Start("ip", $"netns exec {rig.B.Name} ssh {sshd.Options} {routerd} apply", redirectStdin: true);
            var sessionOut = session.StandardOutput.ReadToEndAsync();
            var sessionErr = session.StandardError.ReadToEndAsync();
            session.StandardInput.Write(cutting);
            session.StandardInput.Close();
            Assert.True(Wait.Until(() => FirmwareLinkTests.Addresses(rig.A, rig.IfA).SequenceEqual(["10.77.9.1/24"]), 20_000), "the apply did not land:\n" + rig.Log);
            long landed = started.ElapsedMilliseconds;
            Assert.True(Wait.Until(() => ShowJson(rig).GetProperty("apply") is { ValueKind: JsonValueKind.Object } a && a.GetProperty("outcome").GetString() == "pending", 20_000),
                "show does not say pending:\n" + rig.Log);
            var pending = ShowJson(rig).GetProperty("apply");
            output.WriteLine($"landed after {landed} ms; show --json apply while pending: {pending}");
            Assert.Equal(JsonValueKind.String, pending.GetProperty("until").ValueKind);
            Assert.Contains(pending.GetProperty("changes").EnumerateArray(), c => c.GetString()!.Contains("addresses: [10.77.0.1/24] -> [10.77.9.1/24]"));
            Assert.Contains("apply: pending until ", rig.Cli("show").Stdout);

            // 3. Cut the session: kill the SSH client. Nobody can confirm now.
            session.Kill(entireProcessTree: true);
            session.WaitForExit(5_000);
            output.WriteLine($"the cut session printed: stdout: {sessionOut.Result.Trim()} stderr: {sessionErr.Result.Trim()}");
            Assert.DoesNotContain("confirmed", sessionOut.Result);

            // 4. The daemon rolls back on its own at the deadline.
            Assert.True(Wait.Until(() => FirmwareLinkTests.Addresses(rig.A, rig.IfA).SequenceEqual(["10.77.0.1/24"]), (Window + 30) * 1000),
                "not rolled back:\n" + rig.Log);
            long rolledBack = started.ElapsedMilliseconds;
            output.WriteLine($"rolled back {rolledBack} ms after the apply started (window {Window} s; load {File.ReadAllText("/proc/loadavg").Trim()})");
            Assert.True(rolledBack >= Window * 1000, $"rolled back before the window ended ({rolledBack} ms)");
            Assert.Equal(original, File.ReadAllText(rig.ConfigPath));
            Assert.Contains($"no 'routerd confirm' within {Window} s: rolled back", rig.Log);

            // 5. From a new session: show, confirm and the next apply all say it was rolled back.
            Assert.True(Wait.Until(() => Ssh(rig, sshd, "true").Exit == 0, 30_000), "SSH does not work again after the rollback:\n" + rig.Log);
            var show = Ssh(rig, sshd, $"{routerd} show");
            output.WriteLine("show after the rollback:\n" + show.Stdout);
            Assert.Contains("apply: rolled back at ", show.Stdout);
            Assert.Contains($"no 'routerd confirm' within {Window} s (over SSH, interfaces.{rig.IfA}.addresses no longer holds 10.77.0.1", show.Stdout);
            Assert.Contains($"  change: interfaces.{rig.IfA}.addresses: [10.77.0.1/24] -> [10.77.9.1/24]", show.Stdout);
            var record = ShowJson(rig).GetProperty("apply");
            Assert.Equal("rolled_back", record.GetProperty("outcome").GetString());
            Assert.Equal(JsonValueKind.String, record.GetProperty("endedAt").ValueKind);

            var confirm = Ssh(rig, sshd, $"{routerd} confirm");
            output.WriteLine($"confirm after the rollback: exit {confirm.Exit}: {confirm.Stdout}{confirm.Stderr}");
            Assert.Equal(1, confirm.Exit);
            Assert.Contains("was rolled back at", confirm.Stderr);
            Assert.DoesNotContain("confirmed:", confirm.Stdout + confirm.Stderr);

            var again = Ssh(rig, sshd, $"{routerd} apply", original);
            output.WriteLine($"the next apply: exit {again.Exit}: {again.Stdout}{again.Stderr}");
            Assert.Equal(0, again.Exit);
            Assert.Contains("note: the previous apply (", again.Stderr);
            Assert.Contains("was rolled back", again.Stderr);
            Assert.Contains("no difference from the running configuration", again.Stdout);
        }
        finally
        {
            if (session is { HasExited: false })
            {
                session.Kill(entireProcessTree: true);
                session.WaitForExit(5_000);
            }
            session?.Dispose();
            rig.Dispose(); // stops sshd before its privilege-separation directory goes
            sshd?.Dispose();
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void DaemonKilledInsideTheWindowRollsBackWhenItStartsAgain()
    {
        using var rig = new FirmwareRig();
        try
        {
            rig.StartWireguardGo();
            string original = rig.Config(keepalive: 25);
            rig.WriteConfig(original);
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);
            string changed = original.Replace("\"mtu\": 1420", "\"mtu\": 1400");
            var apply = rig.Cli("apply --confirm 600", stdin: changed);
            Assert.True(apply.Exit == 0, apply.Stdout + apply.Stderr + rig.Log);
            Assert.Contains("pending until", apply.Stdout);
            Assert.Equal(changed, File.ReadAllText(rig.ConfigPath));

            // The daemon dies inside the window (a crash, an OOM kill, a power cut): its timer dies with it.
            rig.Routerd!.Kill();
            rig.Routerd.WaitForExit(10_000);
            File.Delete(rig.StatusSocket); // left by the killed daemon: wait for the new one's
            rig.StartRouterd();
            Assert.True(rig.WaitForUapi(), rig.Log);
            Assert.Equal(original, File.ReadAllText(rig.ConfigPath));
            Assert.False(File.Exists(rig.ConfigPath + ".pending"));
            Assert.True(Wait.Until(() => rig.A.Exec("ip", $"link show {rig.IfA}").Contains("mtu 1420"), 10_000), rig.A.Exec("ip", $"link show {rig.IfA}"));
            var record = ShowJson(rig).GetProperty("apply");
            output.WriteLine($"show --json apply after the restart: {record}");
            Assert.Equal("rolled_back", record.GetProperty("outcome").GetString());
            Assert.Contains("the daemon stopped before 'routerd confirm'", record.GetProperty("why").GetString());
            var confirm = rig.Cli("confirm");
            Assert.Equal(1, confirm.Exit);
            Assert.Contains("was rolled back", confirm.Stderr);
            Assert.Contains("was never confirmed", rig.Log);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    private static (int Exit, string Stdout, string Stderr) Ssh(FirmwareRig rig, SshServer sshd, string command, string? stdin = null)
    {
        using var p = Sh.Start("ip", $"netns exec {rig.B.Name} ssh {sshd.Options} {command}", redirectStdin: true);
        if (stdin is not null)
            p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            return (-1, o.IsCompleted ? o.Result : "", "timed out");
        }
        return (p.ExitCode, o.Result, e.Result);
    }

    private static JsonElement ShowJson(FirmwareRig rig)
    {
        var (exit, stdout, stderr) = rig.Cli("show --json");
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        return doc.RootElement.Clone();
    }
}
