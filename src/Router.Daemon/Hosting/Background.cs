using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Router.Daemon.Hosting;

/// <summary>
/// wireguard-go's daemon contract for wg-quick: <c>routerd IFNAME</c> returns only once the interface and its UAPI
/// socket exist, leaving the tunnel running in the background. .NET cannot fork, so routerd starts itself again in
/// the foreground as a new session leader and waits until that child answers on its socket (or dies).
/// </summary>
internal static partial class Background
{
    /// <summary>Set in the child's environment so it detaches from the terminal's session (setsid).</summary>
    public const string ChildVariable = "ROUTERD_BACKGROUND_CHILD";

    /// <summary>Starts the foreground child for <paramref name="interfaceName"/> and waits until it is ready.</summary>
    /// <returns>0 when the child serves its UAPI socket; 1 when it exited or did not become ready in time.</returns>
    public static int Start(string interfaceName, string socketPath, TimeSpan timeout)
    {
        string[] self = Environment.GetCommandLineArgs();
        string program = Environment.ProcessPath ?? self[0];
        var psi = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardInput = true };
        // Under the JIT the process is "dotnet" and the first argument is routerd.dll; AOT has just the binary.
        if (!string.Equals(Path.GetFullPath(program), Path.GetFullPath(self[0]), StringComparison.Ordinal) && self[0].EndsWith(".dll", StringComparison.Ordinal))
            psi.ArgumentList.Add(self[0]);
        psi.ArgumentList.Add("-f");
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(interfaceName);
        psi.Environment[ChildVariable] = "1";

        using Process child = Process.Start(psi) ?? throw new InvalidOperationException("could not start routerd in the background");
        child.StandardInput.Close(); // a daemon reads nothing from the terminal

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (child.WaitForExit(50))
                return child.ExitCode == 0 ? 1 : child.ExitCode;
            if (IsServing(socketPath))
                return 0;
        }
        Log.Error($"routerd did not become ready within {timeout.TotalSeconds:0} s; stopping it");
        try { child.Kill(); } catch (InvalidOperationException) { }
        return 1;
    }

    private static bool isChild;

    /// <summary>In the child: leave the parent's session so closing the terminal does not hang up the tunnel.</summary>
    public static void DetachIfChild()
    {
        if (Environment.GetEnvironmentVariable(ChildVariable) != "1")
            return;
        isChild = true;
        Environment.SetEnvironmentVariable(ChildVariable, null);
        _ = setsid(); // fails only for a process-group leader, which a freshly started child is not
    }

    /// <summary>
    /// In the child, once it is ready: unless LOG_LEVEL asks for output (verbose or error), point stdin, stdout and
    /// stderr at /dev/null, as wireguard-go does for its daemon. Otherwise the daemon would hold the caller's pipes
    /// open for its whole life, and anything that captures the output of <c>routerd IFNAME</c> or of
    /// <c>wg-quick up</c> (a script's $(...), a test, a supervisor) would hang until the tunnel stops. Start-up
    /// errors have already been printed by then, while the parent was still waiting.
    /// </summary>
    public static void ReleaseStdioIfChild(string? logLevel)
    {
        if (!isChild)
            return;
        string level = logLevel?.Trim().ToLowerInvariant() ?? "";
        if (level is not ("" or "silent"))
            return;
        Console.Out.Flush();
        Console.Error.Flush();
        // .NET's Console writes through its own dup()s of fds 0-2, so redirecting 0-2 alone would leave the caller's
        // pipes open: point every descriptor that shares a target with 0, 1 or 2 at /dev/null.
        var stdio = new HashSet<string>(StringComparer.Ordinal);
        for (int fd = 0; fd <= 2; fd++)
            if (FdTarget(fd) is { } target && target != "/dev/null")
                stdio.Add(target);
        int devNull = open("/dev/null", 2 /* O_RDWR */);
        if (devNull < 0)
            return;
        var fds = new List<int>();
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
            if (int.TryParse(Path.GetFileName(entry), out int fd) && fd != devNull && (fd <= 2 || (FdTarget(fd) is { } t && stdio.Contains(t))))
                fds.Add(fd);
        foreach (int fd in fds)
            _ = dup2(devNull, fd);
        if (devNull > 2)
            _ = close(devNull);
    }

    private static string? FdTarget(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsServing(string socketPath)
    {
        if (!File.Exists(socketPath))
            return false;
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false; // stale socket from an earlier run, or not listening yet
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsid();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int dup2(int oldfd, int newfd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
