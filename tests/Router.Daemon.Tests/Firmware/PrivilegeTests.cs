using System.Collections.Concurrent;
using System.Diagnostics;
using Router.Daemon.Tests.Interop;
using Router.Linux.Tests;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// routerd as its systemd unit runs it: the unit's User= (not root; nobody stands in for the package's routerd user,
/// which a test does not create on a shared machine), no supplementary groups, and exactly the unit's
/// CapabilityBoundingSet= and AmbientCapabilities=, which must be CAP_NET_ADMIN alone; in both modes, in a namespace,
/// against wireguard-go, with LOG_LEVEL=verbose.
/// The tunnel comes up and pings; the sockets are the owner's only; and neither private key nor pre-shared key
/// (base64 or hex) appears in routerd's output, 'routerd show', /proc/PID/cmdline or /proc/PID/environ.
/// /run/wireguard is a private directory owned by nobody (bind-mounted in routerd's mount namespace), as systemd's
/// RuntimeDirectory gives the unit.
/// </summary>
[Trait("Category", "Interop")]
public sealed class PrivilegeTests(ITestOutputHelper output)
{
    private const string NetAdminOnly = "0000000000001000"; // 1 << CAP_NET_ADMIN (12)

    /// <summary>The capabilities routerd.service grants, in setpriv's spelling, after checking the unit asks for no more.</summary>
    private static string UnitCapabilities()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Router.sln")))
            dir = Path.GetDirectoryName(dir);
        string unit = File.ReadAllText(Path.Combine(dir!, "rootfs/routerd/usr/lib/systemd/system/routerd.service"));
        string Setting(string key) => unit.Split('\n').LastOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..].Trim() ?? "";
        string user = Setting("User");
        Assert.True(user is not ("" or "root" or "0"), $"routerd.service runs as root (User={user})");
        Assert.Equal("CAP_NET_ADMIN", Setting("CapabilityBoundingSet"));
        Assert.Equal("CAP_NET_ADMIN", Setting("AmbientCapabilities"));
        return "+net_admin";
    }

    /// <summary>
    /// Runs "$@" as nobody with only CAP_NET_ADMIN, with DIR/wireguard as its /run/wireguard and /dev/net/tun mode
    /// 0666, as Debian's udev leaves it (this build machine has it 0600, which only root may open).
    /// </summary>
    private static string WriteLauncher(FirmwareRig rig)
    {
        string uapi = Path.Combine(rig.Dir, "wireguard");
        Directory.CreateDirectory(uapi);
        string tun = Path.Combine(rig.Dir, "tun");
        Sh.Run("mknod", $"-m 0666 {tun} c 10 200");
        Sh.Run("chown", $"-R nobody:nogroup {rig.Dir}");
        string caps = UnitCapabilities();
        string script = Path.Combine(rig.Dir, "as-nobody.sh");
        File.WriteAllText(script, $"""
            #!/bin/sh
            set -e
            mount --bind {uapi} /run/wireguard
            mount --bind {tun} /dev/net/tun
            exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all,{caps} --ambient-caps=-all,{caps} --bounding-set=-all,{caps} "$@"
            """);
        return script;
    }

    private static void AssertNobodyWithNetAdminOnly(int pid)
    {
        string status = File.ReadAllText($"/proc/{pid}/status");
        string Field(string name) => status.Split('\n').First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim();
        Assert.Equal("65534\t65534\t65534\t65534", Field("Uid"));
        Assert.Equal("", Field("Groups"));
        Assert.Equal(NetAdminOnly, Field("CapEff"));
        Assert.Equal(NetAdminOnly, Field("CapBnd"));
        Assert.Equal(NetAdminOnly, Field("CapAmb"));
    }

    private static void AssertOwnerOnly(string socket)
    {
        Assert.True(File.Exists(socket), $"{socket} missing");
        var mode = File.GetUnixFileMode(socket);
        Assert.True((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) == 0,
            $"{socket} is mode {Convert.ToString((int)mode, 8)}");
        Assert.Equal("nobody", Sh.Run("stat", $"-c %U {socket}").Trim());
    }

    /// <summary>Every place a secret could leak: nothing there may contain it, base64 or hex.</summary>
    private void AssertNoSecret(string where, string text, params string[] base64Secrets)
    {
        foreach (var secret in base64Secrets)
        {
            string hex = Convert.ToHexStringLower(Convert.FromBase64String(secret));
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{where} holds a secret (base64)");
            Assert.False(text.Contains(hex, StringComparison.OrdinalIgnoreCase), $"{where} holds a secret (hex)");
        }
        output.WriteLine($"{where}: {text.Length} characters, no secret");
    }

    private void AssertNoSecretAnywhere(int pid, string log, IEnumerable<string> shows, params string[] secrets)
    {
        AssertNoSecret("routerd's stdout and stderr", log, secrets);
        AssertNoSecret("/proc/PID/cmdline", File.ReadAllText($"/proc/{pid}/cmdline"), secrets);
        AssertNoSecret("/proc/PID/environ", File.ReadAllText($"/proc/{pid}/environ"), secrets);
        int i = 0;
        foreach (var show in shows)
            AssertNoSecret($"routerd show #{++i}", show, secrets);
    }

    [RootFact]
    public void FirmwareModeRunsAsNobodyWithNetAdminOnlyAndLeaksNoSecret()
    {
        using var rig = new FirmwareRig();
        try
        {
            string launcher = WriteLauncher(rig);
            rig.StartWireguardGo();
            rig.WriteConfig(rig.Config(keepalive: 25));
            // A group-readable key: accepted with a warning (docs/CONFIG.md says why), the warning in the log.
            File.SetUnixFileMode(Path.Combine(rig.Dir, "a.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            Sh.Run("chown", $"-R nobody:nogroup {rig.Dir}");
            // The rig runs `unshare -m sh -c "WRAPPER && exec routerd run ..."`: the wrapper execs the launcher itself.
            rig.StartRouterd(env: new Dictionary<string, string> { ["LOG_LEVEL"] = "verbose" },
                wrapper: $"exec sh {launcher} \"$0\" run --config \"$1\"");
            string uapi = Path.Combine(rig.Dir, "wireguard", rig.IfA + ".sock");
            Assert.True(Wait.Until(() => rig.Routerd!.HasExited || (TunnelPair.IsServing(uapi) && File.Exists(rig.StatusSocket)), 15_000) && !rig.Routerd!.HasExited,
                "routerd as nobody did not come up:\n" + rig.Log);
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 15_000), "no ping through the tunnel:\n" + rig.Log);
            int pid = rig.Routerd!.Id;
            AssertNobodyWithNetAdminOnly(pid);
            output.WriteLine($"routerd run: pid {pid}, uid 65534, CapEff=CapBnd=CapAmb={NetAdminOnly}, tunnel up");
            AssertOwnerOnly(uapi);
            AssertOwnerOnly(rig.ControlSocket);
            AssertOwnerOnly(rig.StatusSocket);
            Assert.Contains("is accessible by group or others (mode 0640)", rig.Log);

            // 'routerd apply' as the owner of the control socket would do it: the daemon (nobody) writes router.json.
            var apply = rig.Cli("apply -", rig.Config(keepalive: 15), 60_000);
            Assert.True(apply.Exit == 0, $"apply as nobody's daemon: {apply.Exit}\n{apply.Stdout}\n{apply.Stderr}\n{rig.Log}");
            Assert.True(rig.Ping("10.77.0.2", 1), "tunnel lost after apply:\n" + rig.Log);

            var shows = new[] { rig.Cli("show").Stdout, rig.Cli("show --json").Stdout, rig.Cli($"show {rig.IfA}").Stdout };
            AssertNoSecretAnywhere(pid, rig.Log, shows, rig.KeyA);
            Assert.True(rig.Stop(10_000), "routerd as nobody did not stop on SIGTERM:\n" + rig.Log);
            Assert.Equal(0, rig.Routerd.ExitCode);
        }
        finally
        {
            output.WriteLine(rig.Log);
        }
    }

    [RootFact]
    public void DropInModeRunsAsNobodyWithNetAdminOnlyAndLeaksNoSecret()
    {
        using var rig = new FirmwareRig();
        var log = new ConcurrentQueue<string>();
        Process? routerd = null;
        try
        {
            string launcher = WriteLauncher(rig);
            string psk = Wg.GenKey();
            rig.StartWireguardGo();
            rig.WriteKey("b.psk", psk);
            rig.B.Exec("wg", $"set {rig.IfB} peer {rig.PubA} preshared-key {rig.Dir}/b.psk");

            var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "netns", "exec", rig.A.Name, "sh", launcher, Implementations.Routerd, "-f", rig.IfA })
                psi.ArgumentList.Add(a);
            psi.Environment["LOG_LEVEL"] = "verbose";
            routerd = Process.Start(psi)!;
            routerd.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            routerd.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
            routerd.BeginOutputReadLine();
            routerd.BeginErrorReadLine();
            string Log() => string.Join("\n", log);
            string uapi = Path.Combine(rig.Dir, "wireguard", rig.IfA + ".sock");
            Assert.True(Wait.Until(() => routerd.HasExited || TunnelPair.IsServing(uapi), 15_000) && !routerd.HasExited,
                "routerd -f as nobody did not come up:\n" + Log());
            int pid = routerd.Id;
            AssertNobodyWithNetAdminOnly(pid);
            AssertOwnerOnly(uapi);

            // wg(8) as root in routerd's mount namespace, where /run/wireguard is nobody's directory.
            string conf = Path.Combine(rig.Dir, "a.conf");
            File.WriteAllText(conf, $"[Interface]\nPrivateKey = {rig.KeyA}\nListenPort = 51820\n\n[Peer]\nPublicKey = {rig.PubB}\nPresharedKey = {psk}\nEndpoint = 192.0.2.2:51820\nAllowedIPs = 10.77.0.2/32\nPersistentKeepalive = 25\n");
            Sh.Run("nsenter", $"-t {pid} -m wg setconf {rig.IfA} {conf}");
            File.Delete(conf);
            rig.A.Ip($"addr add 10.77.0.1/24 dev {rig.IfA}");
            rig.A.Ip($"link set {rig.IfA} up");
            Assert.True(Wait.Until(() => rig.Ping("10.77.0.2", 1), 15_000), "no ping through the tunnel:\n" + Log());
            output.WriteLine($"routerd -f: pid {pid}, uid 65534, CapEff=CapBnd=CapAmb={NetAdminOnly}, tunnel up with a PSK");

            string show = Bounded.Run("nsenter", ["-t", pid.ToString(), "-m", Implementations.Routerd, "show", rig.IfA], 20_000).Stdout;
            string wgShow = Sh.Run("nsenter", $"-t {pid} -m wg show {rig.IfA}");
            Assert.Contains(rig.PubB, wgShow);
            AssertNoSecretAnywhere(pid, Log(), [show, wgShow], rig.KeyA, psk);
            Sh.Run("kill", $"-TERM {pid}");
            Assert.True(routerd.WaitForExit(10_000), "routerd -f as nobody did not stop on SIGTERM:\n" + Log());
            Assert.Equal(0, routerd.ExitCode);
        }
        finally
        {
            if (routerd is not null)
            {
                try
                {
                    if (!routerd.HasExited)
                        routerd.Kill(entireProcessTree: true);
                    routerd.WaitForExit(5000);
                }
                catch (InvalidOperationException) { }
                output.WriteLine(string.Join("\n", log));
                routerd.Dispose();
            }
        }
    }
}
