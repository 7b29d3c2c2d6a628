using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Router.Linux.Tests;

/// <summary>
/// A network namespace made for one test (unique name, removed on Dispose, also when the test failed), with helpers
/// to run `ip` and other commands in it and to run test code on a thread that entered it (setns), so sockets and TUN
/// devices opened there belong to the namespace.
/// </summary>
internal sealed partial class Netns : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;

    public string Name { get; }

    private Netns(string name) => Name = name;

    public static Netns Create(string tag = "t")
    {
        string name = $"rt-{tag}-{Guid.NewGuid().ToString("N")[..8]}";
        Sh.Run("ip", $"netns add {name}");
        var ns = new Netns(name);
        ns.Ip("link set lo up");
        return ns;
    }

    /// <summary>Runs `ip -n NAME args` and returns stdout; throws on a non-zero exit.</summary>
    public string Ip(string args) => Sh.Run("ip", $"-n {Name} {args}");

    /// <summary>Runs a program inside the namespace.</summary>
    public string Exec(string program, string args) => Sh.Run("ip", $"netns exec {Name} {program} {args}");

    /// <summary>
    /// Pings ADDRESS once so its neighbour entry exists before a test's burst (nothing waits in, or overflows, the
    /// ARP/ND queue). Right after "link set up" a veth's carrier and IPv6 may still be coming up, and a lone ping was
    /// seen to fail: up to five tries of 2 s.
    /// </summary>
    public void Resolve(string address)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                Exec("ping", $"-c 1 -W 2 {address}");
                return;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>Starts a program inside the namespace without waiting.</summary>
    public Process Start(string program, string args) => Sh.Start("ip", $"netns exec {Name} {program} {args}");

    /// <summary>Runs <paramref name="body"/> on a fresh thread that joined this namespace.</summary>
    public T Run<T>(Func<T> body)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                int fd = Open($"/var/run/netns/{Name}", 0x80000 /* O_CLOEXEC */);
                if (fd < 0)
                    throw new InvalidOperationException($"open netns: errno {Marshal.GetLastPInvokeError()}");
                try
                {
                    if (SetNs(fd, CLONE_NEWNET) != 0)
                        throw new InvalidOperationException($"setns: errno {Marshal.GetLastPInvokeError()}");
                }
                finally
                {
                    Close(fd);
                }
                result = body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new AggregateException(failure);
        return result;
    }

    public void Dispose()
    {
        try
        {
            Sh.Run("ip", $"netns del {Name}");
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"cleanup of {Name} failed: {e.Message}");
        }
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

/// <summary>Shelling out, for tests only.</summary>
internal static class Sh
{
    public static string Run(string program, string args, string? stdin = null, int timeoutMs = 60_000)
    {
        using Process p = Start(program, args, stdin is not null);
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {args} timed out");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{program} {args} exited {p.ExitCode}: {stderr.Result.Trim()}");
        return stdout.Result;
    }

    public static Process Start(string program, string args, bool redirectStdin = false)
    {
        var info = new ProcessStartInfo(program, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
        };
        return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
    }
}

/// <summary>A fact that needs root (network namespaces, TUN, /var/run/wireguard); skipped with the reason otherwise.</summary>
internal sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: creates network namespaces, TUN devices and /var/run/wireguard sockets";
        else if (!File.Exists("/dev/net/tun"))
            Skip = "needs /dev/net/tun";
    }
}

/// <summary>A root fact that also drives the real wg(8) from wireguard-tools.</summary>
internal sealed class WgFactAttribute : FactAttribute
{
    public WgFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root: wg(8) talks to /var/run/wireguard";
        else if (!File.Exists("/usr/bin/wg"))
            Skip = "needs wg(8) (apt-get install wireguard-tools)";
    }
}

internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until true or the timeout; returns the last result.</summary>
    public static bool Until(Func<bool> condition, int timeoutMs = 3000)
    {
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < timeoutMs)
        {
            if (condition())
                return true;
            Thread.Sleep(20);
        }
        return condition();
    }
}
