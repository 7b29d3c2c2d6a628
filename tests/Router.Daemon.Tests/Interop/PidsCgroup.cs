namespace Router.Daemon.Tests.Interop;

/// <summary>
/// A pids cgroup of its own (v2, or the v1 pids hierarchy these CI machines mount), as systemd's TasksMax makes one
/// for a service: a process moved into it cannot have more than <c>pids.max</c> threads. Removed on Dispose, once
/// the processes in it are gone.
/// </summary>
internal sealed class PidsCgroup : IDisposable
{
    private readonly string _path;

    private PidsCgroup(string path) => _path = path;

    /// <summary>Where a child pids cgroup can be made, or null (not root, no pids controller, read-only).</summary>
    public static string? Root()
    {
        if (!Environment.IsPrivilegedProcess)
            return null;
        // v1: the pids hierarchy; v2: the unified root (a child there has pids.max only if the controller is enabled).
        foreach (string candidate in new[] { "/sys/fs/cgroup/pids", "/sys/fs/cgroup" })
        {
            if (!Directory.Exists(candidate))
                continue;
            string probe = Path.Combine(candidate, $"router-probe-{Environment.ProcessId}");
            try
            {
                Directory.CreateDirectory(probe);
                bool usable = File.Exists(Path.Combine(probe, "pids.max"));
                Directory.Delete(probe);
                if (usable)
                    return candidate;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }

    public static PidsCgroup Create(string name, int max)
    {
        string path = Path.Combine(Root() ?? throw new InvalidOperationException("no writable pids cgroup"), name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "pids.max"), max.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new PidsCgroup(path);
    }

    /// <summary>Moves a whole process (all its threads) into the cgroup.</summary>
    public void Add(int pid) => File.WriteAllText(Path.Combine(_path, "cgroup.procs"), pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Tasks (threads) in the cgroup now.</summary>
    public int Current => int.Parse(File.ReadAllText(Path.Combine(_path, "pids.current")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        // rmdir fails with EBUSY while a task is inside; the lab has killed the daemon by now, but reaping takes a moment.
        for (int i = 0; i < 50 && Directory.Exists(_path); i++)
        {
            try
            {
                Directory.Delete(_path);
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
        }
    }
}

/// <summary>A fact that needs a writable pids cgroup (and root); skipped with the reason otherwise.</summary>
internal sealed class PidsCgroupFactAttribute : FactAttribute
{
    public PidsCgroupFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
            Skip = "needs root";
        else if (!File.Exists("/dev/net/tun"))
            Skip = "needs /dev/net/tun";
        else if (PidsCgroup.Root() is null)
            Skip = "needs a writable pids cgroup (v2 with the pids controller, or the v1 pids hierarchy)";
    }
}
