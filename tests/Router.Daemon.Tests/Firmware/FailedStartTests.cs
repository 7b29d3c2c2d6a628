using System.Diagnostics;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// A start that fails must say so, and why: with the UDP port taken routerd logged "cannot bring up: bind UDP port
/// 51820" followed by "start: configuration applied" while no interface existed; run by a user who cannot write the
/// runtime directory, the error did not name the path.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class FailedStartTests
{
    [RootFact]
    public void ATakenPortIsReportedWithItsCauseAndTheStartIsNotCalledApplied()
    {
        using var rig = new FirmwareRig();
        using Process holder = Sh.Start("ip", $"netns exec {rig.A.Name} ncat -u -l 51820");
        try
        {
            Assert.True(Wait.Until(() => rig.A.Exec("ss", "-uln").Contains(":51820"), 5_000), "ncat did not take the port");
            rig.WriteConfig(rig.Config());
            rig.StartRouterd();
            Assert.True(Wait.Until(() => rig.Log.Contains("not fully applied"), 20_000), $"no failure summary in the log:\n{rig.Log}");
            Console.WriteLine(rig.Log);
            Assert.Contains($"{rig.IfA}: cannot bring up: bind UDP port 51820: Address already in use", rig.Log);
            Assert.Contains("1 of 1 configured could not be brought up", rig.Log);
            Assert.DoesNotContain("configuration applied", rig.Log);
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            holder.WaitForExit(5_000);
        }
    }

    [RootFact]
    public void ARuntimeDirectoryItCannotWriteIsNamed()
    {
        string dir = Directory.CreateTempSubdirectory("routerd-priv-").FullName;
        string blocked = Path.Combine(dir, "root-only");
        Directory.CreateDirectory(blocked);
        File.SetUnixFileMode(blocked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        string config = Path.Combine(dir, "router.json");
        File.WriteAllText(config, """{ "interfaces": {} }""");
        File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
        try
        {
            var psi = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--reuid=nobody", "--regid=nogroup", "--clear-groups", Implementations.Routerd, "run", "--config", config })
                psi.ArgumentList.Add(a);
            psi.Environment["ROUTERD_CONTROL_SOCKET"] = Path.Combine(blocked, "control.sock");
            psi.Environment["ROUTERD_STATUS_SOCKET"] = Path.Combine(blocked, "status.sock");
            psi.Environment["ROUTERD_SEED"] = "none";
            var lines = new List<string>();
            using var p = Process.Start(psi)!;
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add(e.Data); };
            p.BeginErrorReadLine();
            p.BeginOutputReadLine();
            string Log() { lock (lines) return string.Join("\n", lines); }
            bool seen = Wait.Until(() => Log().Contains("control/status socket"), 15_000);
            p.Kill();
            p.WaitForExit(5_000);
            Console.WriteLine(Log());
            Assert.True(seen, $"no socket error in the log:\n{Log()}");
            Assert.Contains(blocked, Log());
            Assert.Contains("denied", Log());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
