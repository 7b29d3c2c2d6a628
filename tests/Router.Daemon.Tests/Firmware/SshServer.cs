using System.Diagnostics;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Firmware;

/// <summary>
/// Debian's sshd in a rig's namespace: a throwaway host key, key-only root login for a key made here, no PAM. Stopped
/// with the rig (it is one of its tracked processes); <see cref="Dispose"/> removes the privilege-separation
/// directory if this made it (dispose the rig first).
/// </summary>
internal sealed class SshServer : IDisposable
{
    private readonly bool _madePrivsepDir;
    private readonly string _dir;

    /// <summary>ssh(1)'s arguments up to the remote command: key, port, no host-key prompt, a quick connect timeout.</summary>
    public string Options { get; }

    public SshServer(FirmwareRig rig, Netns ns, string address, int port)
    {
        _dir = Path.Combine(rig.Dir, "ssh");
        Directory.CreateDirectory(_dir);
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "routerd-test-host", "-f", Path.Combine(_dir, "host_key"));
        Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "routerd-test-client", "-f", Path.Combine(_dir, "client_key"));
        File.Copy(Path.Combine(_dir, "client_key.pub"), Path.Combine(_dir, "authorized_keys"));
        string config = Path.Combine(_dir, "sshd_config");
        File.WriteAllText(config, $"""
            Port {port}
            ListenAddress 0.0.0.0
            HostKey {_dir}/host_key
            AuthorizedKeysFile {_dir}/authorized_keys
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            PidFile none
            """);
        if (!Directory.Exists("/run/sshd"))
        {
            Directory.CreateDirectory("/run/sshd"); // sshd's privilege-separation directory
            _madePrivsepDir = true;
        }
        Run("/usr/sbin/sshd", "-t", "-f", config);
        rig.StartTracked(ns, "/usr/sbin/sshd", $"-D -e -f {config}");
        Options = $"-F /dev/null -i {_dir}/client_key -p {port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                  + $"-o LogLevel=ERROR -o ConnectTimeout=3 -o ServerAliveInterval=1 -o ServerAliveCountMax=4 root@{address}";
    }

    public void Dispose()
    {
        if (_madePrivsepDir && Directory.Exists("/run/sshd"))
            Directory.Delete("/run/sshd");
    }

    public static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            throw new TimeoutException($"{program} timed out");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{program} exited {p.ExitCode}: {stderr.Result}");
    }
}
