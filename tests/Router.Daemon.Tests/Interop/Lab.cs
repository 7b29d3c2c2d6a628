using System.Diagnostics;
using System.Text;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// A free-form test network for the scenarios a two-site <see cref="TunnelPair"/> cannot express (a NAT router in
/// the middle, a third peer, wg-quick, daemons started without -f): namespaces, veth links, foreground daemons and
/// temporary files, all owned by the lab and removed on Dispose in reverse order, also when the test failed.
/// </summary>
internal sealed class Lab : IDisposable
{
    private static int counter;
    private readonly List<Netns> namespaces = [];
    private readonly List<Process> processes = [];
    private readonly List<string> files = [];
    private readonly List<string> interfaces = [];
    private readonly string tag = $"{Environment.ProcessId % 1000}";

    /// <summary>A name unique to this test run, short enough for IFNAMSIZ (15).</summary>
    public string NewName(string prefix)
    {
        string name = $"{prefix}{tag}x{Interlocked.Increment(ref counter)}";
        interfaces.Add(name);
        return name;
    }

    public Netns Ns(string tagName)
    {
        var ns = Netns.Create(tagName);
        namespaces.Add(ns);
        return ns;
    }

    /// <summary>A veth pair between two namespaces, both ends up; returns the two end names.</summary>
    public (string Left, string Right) Link(Netns left, Netns right, int mtu = 1500)
    {
        string l = NewName("vl"), r = NewName("vr");
        Sh.Run("ip", $"link add {l} netns {left.Name} type veth peer name {r} netns {right.Name}");
        left.Ip($"link set {l} mtu {mtu} up");
        right.Ip($"link set {r} mtu {mtu} up");
        return (l, r);
    }

    /// <summary>Starts <c>PROGRAM -f IFNAME</c> in a namespace and waits until its UAPI socket answers.</summary>
    public Process Daemon(Netns ns, string program, string ifname, string logLevel = "error")
    {
        var p = StartLogged(ns, program, ["-f", ifname], new() { ["LOG_LEVEL"] = logLevel }, $"{Path.GetFileName(program)} {ifname}");
        if (!Wait.Until(() => p.HasExited || TunnelPair.IsServing(Socket(ifname)), 10_000) || p.HasExited)
            throw new InvalidOperationException($"{program} -f {ifname} did not come up (exited: {p.HasExited})");
        return p;
    }

    /// <summary>Starts a program in a namespace with stdout/stderr copied to the test log; killed on Dispose.</summary>
    public Process StartLogged(Netns ns, string program, string[] args, Dictionary<string, string> env, string label)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns.Name, program }.Concat(args))
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
            psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        processes.Add(p);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"[{label}] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{label}] {e.Data}"); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static string Socket(string ifname) => $"/var/run/wireguard/{ifname}.sock";

    /// <summary>Writes a temporary file (removed on Dispose) and returns its path.</summary>
    public string File(string content, string? name = null)
    {
        string dir = Directory.CreateTempSubdirectory("router-lab-").FullName;
        files.Add(dir);
        string path = Path.Combine(dir, name ?? "f");
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Applies a wg(8) configuration file to an interface with <c>wg setconf</c>.</summary>
    public void SetConf(Netns ns, string ifname, string conf) => ns.Exec("wg", $"setconf {ifname} {File(conf)}");

    /// <summary>Tracks a process started elsewhere (e.g. a daemonized routerd found by pid) for cleanup.</summary>
    public void Own(Process p) => processes.Add(p);

    public void Dispose()
    {
        foreach (var p in Enumerable.Reverse(processes))
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
            p.Dispose();
        }
        // Daemonized children are not ours by Process: kill anything still serving one of our interface names.
        foreach (var ifname in interfaces)
            foreach (int pid in Procs.ServingInterface(ifname))
                Procs.Kill(pid);
        foreach (var ns in Enumerable.Reverse(namespaces))
            ns.Dispose();
        foreach (var ifname in interfaces)
            System.IO.File.Delete(Socket(ifname));
        foreach (var d in files)
            try { Directory.Delete(d, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// Runs a program to completion with a hard bound on the time: also the time until its stdout and stderr reach EOF,
/// which is what hangs when a daemon it started keeps the pipes (Sh.Run waits for that without a bound).
/// </summary>
internal static class Bounded
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(string program, IEnumerable<string> args, int timeoutMs, IDictionary<string, string>? env = null, IEnumerable<string>? unset = null)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
            psi.Environment[k] = v;
        foreach (var k in unset ?? [])
            psi.Environment.Remove(k);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var watch = Stopwatch.StartNew();
        bool exited = p.WaitForExit(timeoutMs);
        bool drained = exited && Task.WaitAll([stdout, stderr], Math.Max(1, timeoutMs - (int)watch.ElapsedMilliseconds));
        if (!exited || !drained)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            throw new TimeoutException(exited
                ? $"{program} {string.Join(' ', args)} exited {p.ExitCode} but its stdout/stderr stayed open for {timeoutMs} ms (a background child holds them)"
                : $"{program} {string.Join(' ', args)} did not exit within {timeoutMs} ms");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>Processes by /proc, to find a daemon that detached from the process that started it.</summary>
internal static class Procs
{
    /// <summary>Live (non-zombie) processes whose last argument is <paramref name="ifname"/> and whose program is routerd or wireguard-go.</summary>
    public static List<int> ServingInterface(string ifname)
    {
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
                continue;
            try
            {
                string[] argv = System.IO.File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (argv.Length < 2 || argv[^1] != ifname)
                    continue;
                string prog = Path.GetFileName(argv[0]);
                if (prog is not ("routerd" or "wireguard-go"))
                    continue;
                if (IsAlive(pid))
                    found.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            string stat = System.IO.File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            char state = stat[close + 2];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static void Signal(int pid, string signal) => Sh.Run("kill", $"-{signal} {pid}");

    public static void Kill(int pid)
    {
        try { Sh.Run("kill", $"-KILL {pid}"); } catch (InvalidOperationException) { }
    }
}

/// <summary>Parsing helpers for wg(8) output.</summary>
internal static class WgOut
{
    /// <summary>`wg show IF endpoints` → public key → endpoint.</summary>
    public static Dictionary<string, string> Pairs(string output)
    {
        var d = new Dictionary<string, string>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t');
            d[parts[0]] = parts.Length > 1 ? parts[1] : "";
        }
        return d;
    }

    public static string Conf(string privateKey, int? port, params (string Pub, string? Endpoint, string Allowed, int Keepalive)[] peers)
    {
        var sb = new StringBuilder($"[Interface]\nPrivateKey = {privateKey}\n");
        if (port is { } p)
            sb.Append($"ListenPort = {p}\n");
        foreach (var peer in peers)
        {
            sb.Append($"\n[Peer]\nPublicKey = {peer.Pub}\nAllowedIPs = {peer.Allowed}\n");
            if (peer.Endpoint is not null)
                sb.Append($"Endpoint = {peer.Endpoint}\n");
            if (peer.Keepalive > 0)
                sb.Append($"PersistentKeepalive = {peer.Keepalive}\n");
        }
        return sb.ToString();
    }
}
