using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Debian's stock amd64 kernel with its wireguard.ko, booted under qemu-system-x86_64 (TCG) from the initramfs that
/// scripts/kernel-peer.sh builds and caches. Its virtio NIC is a tap device in a namespace of the test, so the guest
/// is one more host on that namespace's link; the test drives it over the guest's second serial port (a Unix socket
/// here): one shell command per line, answered by its output and "@@END &lt;status&gt;". qemu, the tap and the
/// socket directory are removed on Dispose.
/// </summary>
internal sealed class KernelGuest : IDisposable
{
    private const string Qemu = "qemu-system-x86_64";
    private static readonly Lazy<string?> unavailable = new(ProbeQemu);

    private readonly Process qemu;
    private readonly Socket channel;
    private readonly string dir;
    private readonly byte[] buffer = new byte[8192];
    private readonly StringBuilder pending = new();

    public string KernelRelease { get; private set; } = "";
    public TimeSpan BootTime { get; private set; }
    public string ConsoleLog => File.Exists(Path.Combine(dir, "console.log")) ? File.ReadAllText(Path.Combine(dir, "console.log")) : "";

    /// <summary>
    /// Why no guest can run here, or null when qemu-system-x86_64 starts one. KVM is not used: /dev/kvm on these
    /// machines is a PVM hypervisor that runs no stock kernel (-cpu host aborts, other -cpu models hang), so the
    /// guest runs under TCG, which boots the 6.1 kernel in 6-30 s depending on load.
    /// </summary>
    public static string? Unavailable => unavailable.Value;

    private KernelGuest(Process qemu, Socket channel, string dir)
    {
        this.qemu = qemu;
        this.channel = channel;
        this.dir = dir;
    }

    /// <summary>Builds (or reuses) the image, creates tap <paramref name="tap"/> in <paramref name="ns"/> and boots the guest on it.</summary>
    public static KernelGuest Boot(Netns ns, string tap, int bootTimeoutMs = 180_000)
    {
        string image = Sh.Run(Path.Combine(RepoRoot(), "scripts", "kernel-peer.sh"), "", timeoutMs: 600_000).Trim().Split('\n')[^1];
        ns.Ip($"tuntap add mode tap name {tap}");
        ns.Ip($"link set {tap} up");
        string dir = Directory.CreateTempSubdirectory("router-kguest-").FullName;
        string sock = Path.Combine(dir, "cmd.sock");
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            "netns", "exec", ns.Name, Qemu, "-accel", "tcg", "-m", "256M", "-smp", "1", "-nodefaults", "-display", "none",
            "-no-reboot", "-kernel", Path.Combine(image, "vmlinuz"), "-initrd", Path.Combine(image, "initramfs.cpio.gz"),
            "-append", "console=ttyS0 panic=-1 quiet",
            "-serial", $"file:{Path.Combine(dir, "console.log")}",
            "-chardev", $"socket,id=cmd,path={sock},server=on,wait=off", "-serial", "chardev:cmd",
            "-netdev", $"tap,id=n0,ifname={tap},script=no,downscript=no", "-device", "virtio-net-pci,netdev=n0,romfile=",
            // The kernel drops handshake packets until its RNG is initialized: give it the host's entropy.
            "-device", "virtio-rng-pci",
        })
            psi.ArgumentList.Add(a);
        var watch = Stopwatch.StartNew();
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"[qemu] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[qemu] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        Socket? s = null;
        try
        {
            if (!Wait.Until(() => p.HasExited || File.Exists(sock), 30_000) || p.HasExited)
                throw new InvalidOperationException($"qemu did not open its command socket (exited: {p.HasExited})");
            s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(sock));
            var guest = new KernelGuest(p, s, dir);
            guest.ReadUntil("@@READY ", bootTimeoutMs);
            guest.KernelRelease = guest.ReadLine(10_000).Trim();
            guest.BootTime = watch.Elapsed;
            Console.WriteLine($"kernel guest {guest.KernelRelease} ready after {watch.Elapsed.TotalSeconds:F1} s (TCG)");
            return guest;
        }
        catch
        {
            string console = File.Exists(Path.Combine(dir, "console.log")) ? File.ReadAllText(Path.Combine(dir, "console.log")) : "";
            Console.Error.WriteLine($"kernel guest console:\n{console[Math.Max(0, console.Length - 3000)..]}");
            s?.Dispose();
            Stop(p);
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>Runs one shell command in the guest; returns its exit status and output (stdout and stderr).</summary>
    public (int Status, string Output) Run(string command, int timeoutMs = 30_000)
    {
        if (command.Contains('\n'))
            throw new ArgumentException("one line per command", nameof(command));
        channel.Send(Encoding.UTF8.GetBytes(command + "\n"));
        string output = ReadUntil("@@END ", timeoutMs);
        string status = ReadLine(timeoutMs);
        return (int.Parse(status.Trim()), output);
    }

    /// <summary>Runs a command that must succeed; returns its output.</summary>
    public string Must(string command, int timeoutMs = 30_000)
    {
        var (status, output) = Run(command, timeoutMs);
        if (status != 0)
            throw new InvalidOperationException($"guest: '{command}' exited {status}: {output.Trim()}");
        return output;
    }

    // Everything before the marker; the marker itself is consumed, the rest of its line stays pending.
    private string ReadUntil(string marker, int timeoutMs)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            string text = pending.ToString();
            int at = text.StartsWith(marker, StringComparison.Ordinal) ? 0 : text.IndexOf("\n" + marker, StringComparison.Ordinal) is int i and >= 0 ? i + 1 : -1;
            if (at >= 0)
            {
                pending.Remove(0, at + marker.Length);
                return text[..at];
            }
            Receive(timeoutMs - (int)watch.ElapsedMilliseconds, marker);
        }
    }

    private string ReadLine(int timeoutMs)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            string text = pending.ToString();
            int nl = text.IndexOf('\n');
            if (nl >= 0)
            {
                pending.Remove(0, nl + 1);
                return text[..nl];
            }
            Receive(timeoutMs - (int)watch.ElapsedMilliseconds, "end of line");
        }
    }

    private void Receive(int remainingMs, string waitingFor)
    {
        if (remainingMs <= 0 || !channel.Poll(TimeSpan.FromMilliseconds(remainingMs), SelectMode.SelectRead))
            throw new TimeoutException($"kernel guest: no '{waitingFor}' within the time; so far: {pending}");
        int n = channel.Receive(buffer);
        if (n == 0)
            throw new InvalidOperationException($"kernel guest closed its command channel; console:\n{ConsoleLog}");
        pending.Append(Encoding.UTF8.GetString(buffer, 0, n));
    }

    private static void Stop(Process p)
    {
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        p.Dispose();
    }

    public void Dispose()
    {
        channel.Dispose();
        Stop(qemu);
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private static string RepoRoot()
    {
        string? d = AppContext.BaseDirectory;
        while (d is not null && !File.Exists(Path.Combine(d, "Router.sln")))
            d = Path.GetDirectoryName(d);
        return d ?? throw new DirectoryNotFoundException("repository root (Router.sln) not found above the test binaries");
    }

    // Starts a paused, empty TCG machine for 1.5 s: enough to know qemu can run a guest here at all.
    private static string? ProbeQemu()
    {
        string? path = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, Qemu)).FirstOrDefault(File.Exists);
        if (path is null)
            return $"{Qemu} is not installed (apt-get install qemu-system-x86): cannot start the kernel WireGuard guest";
        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-accel", "tcg", "-M", "q35", "-nodefaults", "-display", "none", "-S", "-monitor", "none" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        if (p.WaitForExit(1500))
            return $"{Qemu} cannot start a guest (-accel tcg exited {p.ExitCode}: {err.Result.Trim()}); the kernel WireGuard peer needs one";
        p.Kill();
        p.WaitForExit(5000);
        return null;
    }
}

/// <summary>A root fact that boots the kernel guest; skipped, saying why, only when qemu cannot start a guest.</summary>
internal sealed class KernelGuestFactAttribute : FactAttribute
{
    public KernelGuestFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: network namespaces, a tap device, /var/run/wireguard";
        else if (!File.Exists("/dev/net/tun"))
            Skip = "needs /dev/net/tun";
        else if (KernelGuest.Unavailable is { } why)
            Skip = why;
    }
}
