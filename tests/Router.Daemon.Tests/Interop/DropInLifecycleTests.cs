using System.Diagnostics;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// routerd's drop-in contract, the one wg-quick relies on from wireguard-go: <c>routerd IFNAME</c> returns 0 only once
/// the interface and its UAPI socket exist and leaves the daemon running; WG_PROCESS_FOREGROUND=1 and -f keep it in the
/// foreground; it exits on SIGTERM, SIGINT, <c>ip link del</c> and removal of its socket file, taking the interface
/// and the socket with it; LOG_LEVEL is honoured; a bad name fails with a message. All inside a private namespace.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class DropInLifecycleTests
{
    private static bool HasLink(Netns ns, string ifname) => ns.Ip("-o link show").Contains($": {ifname}:", StringComparison.Ordinal);

    [RootTheory]
    [InlineData("SIGTERM")]
    [InlineData("SIGINT")]
    [InlineData("ip link del")]
    [InlineData("socket removed")]
    public void BackgroundDaemonIsReadyOnReturnAndExitsOn(string trigger)
    {
        using var lab = new Lab();
        var ns = lab.Ns("life");
        string ifname = lab.NewName("rd");
        string socket = Lab.Socket(ifname);

        // Output is captured through pipes: the call must return even though the daemon lives on (its stdio must not
        // keep the caller's pipes open), and everything must exist the moment it returns.
        var watch = Stopwatch.StartNew();
        var run = Bounded.Run("ip", ["netns", "exec", ns.Name, Implementations.Routerd, ifname], 20_000, unset: ["LOG_LEVEL", "WG_PROCESS_FOREGROUND"]);
        Console.WriteLine($"routerd {ifname} returned {run.ExitCode} after {watch.ElapsedMilliseconds} ms: {run.Stdout}{run.Stderr}");
        Assert.Equal(0, run.ExitCode);
        Assert.True(File.Exists(socket), "socket file exists when routerd returns");
        Assert.True(TunnelPair.IsServing(socket), "socket answers when routerd returns");
        Assert.True(HasLink(ns, ifname), "interface exists in the namespace when routerd returns");
        Assert.DoesNotContain($": {ifname}:", Sh.Run("ip", "-o link show"), StringComparison.Ordinal); // not in the root namespace

        List<int> pids = Procs.ServingInterface(ifname);
        int pid = Assert.Single(pids);
        ns.Exec("wg", $"set {ifname} listen-port 51999");
        Assert.Contains("51999", ns.Exec("wg", $"show {ifname} listen-port"));
        Assert.True(Procs.IsAlive(pid), "the background daemon keeps running");

        switch (trigger)
        {
            case "SIGTERM": Procs.Signal(pid, "TERM"); break;
            case "SIGINT": Procs.Signal(pid, "INT"); break;
            case "ip link del": ns.Ip($"link del {ifname}"); break;
            case "socket removed": File.Delete(socket); break;
        }
        watch.Restart();
        // Generous: the kernel deletes the TUN interface inside routerd's close(2), seconds on a loaded machine.
        // routerd's own share is bounded tightly in OwnShutdownTimeIsBounded.
        Assert.True(Wait.Until(() => !Procs.IsAlive(pid), 20_000), $"routerd still running 20 s after {trigger}");
        Console.WriteLine($"routerd exited {watch.ElapsedMilliseconds} ms after {trigger}");
        Assert.False(File.Exists(socket), "socket file removed on exit");
        Assert.True(Wait.Until(() => !HasLink(ns, ifname), 5000), "interface removed on exit");
    }

    /// <summary>
    /// What routerd itself spends between the stop request and its exit, as it logs at verbose level with the kernel's
    /// share (deleting the interface inside close(2)) apart: at most 2 s. Noticing a removed socket file takes at most
    /// one poll (200 ms) before that. The total from the trigger to the exit, as this test sees it, is bounded only
    /// generously: on a loaded machine the kernel's part is seconds.
    /// </summary>
    [RootTheory]
    [InlineData("SIGTERM")]
    [InlineData("ip link del")]
    [InlineData("socket removed")]
    public void OwnShutdownTimeIsBounded(string trigger)
    {
        using var lab = new Lab();
        var ns = lab.Ns("down");
        string ifname = lab.NewName("rx");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns.Name, Implementations.Routerd, "-f", ifname })
            psi.ArgumentList.Add(a);
        psi.Environment["LOG_LEVEL"] = "verbose";
        Process p = Process.Start(psi)!;
        lab.Own(p);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        Assert.True(Wait.Until(() => p.HasExited || TunnelPair.IsServing(Lab.Socket(ifname)), 15_000) && !p.HasExited, "routerd came up");
        // A configured, running tunnel: a peer, a port and the link up, so every thread has something to stop.
        ns.Exec("wg", $"set {ifname} listen-port 51997 peer {Wg.PubKey(Wg.GenKey())} allowed-ips 10.1.2.3/32 endpoint 127.0.0.1:51996 persistent-keepalive 1");
        ns.Ip($"addr add 10.1.2.1/24 dev {ifname}");
        ns.Ip($"link set {ifname} up");
        Thread.Sleep(300);

        var watch = Stopwatch.StartNew();
        switch (trigger)
        {
            case "SIGTERM": Procs.Signal(p.Id, "TERM"); break;
            case "ip link del": ns.Ip($"link del {ifname}"); break;
            case "socket removed": File.Delete(Lab.Socket(ifname)); break;
        }
        Assert.True(p.WaitForExit(20_000), $"routerd still running 20 s after {trigger}");
        long total = watch.ElapsedMilliseconds;
        p.WaitForExit(); // the output is drained
        string line = log.LastOrDefault(l => l.Contains("shutdown:", StringComparison.Ordinal)) ?? "";
        Console.WriteLine($"{trigger}: exited {total} ms after the trigger; routerd says: {line}");
        var own = System.Text.RegularExpressions.Regex.Match(line, @"routerd's own part (\d+) ms");
        var kernel = System.Text.RegularExpressions.Regex.Match(line, @"kernel deleted the interface in (\d+) ms");
        Assert.True(own.Success && kernel.Success, $"routerd logs its shutdown phases at verbose level:\n{string.Join('\n', log)}");
        // Typically 1-100 ms; it is thread wake-ups only (every thread is woken at once, none sleeps out a timeout), so on
        // this 2-core machine at a load average of 45 a single wake-up once took 0.8 s: the bound is issue 13's 2 s.
        Assert.True(int.Parse(own.Groups[1].Value) <= 2000, $"routerd's own part of the shutdown is at most 2 s: {line}");
        // The rest of the total is the kernel's: deleting the interface, then tearing the process down (wireguard-go
        // takes 0.4-4.5 s from SIGTERM to exit on this loaded machine too); hence only the generous bound above.
        Assert.Equal(0, p.ExitCode);
    }

    /// <summary>Like wireguard-go and the kernel module, the drop-in creates its interface at MTU 1420, not TUN's 1500.</summary>
    [RootFact]
    public void TheInterfaceIsCreatedAtMtu1420LikeWireguardGo()
    {
        using var lab = new Lab();
        var ns = lab.Ns("mtu");
        string ours = lab.NewName("rm"), theirs = lab.NewName("gm");
        lab.Daemon(ns, Implementations.Routerd, ours);
        lab.Daemon(ns, Implementations.WireguardGo, theirs);
        string Mtu(string ifname) => System.Text.RegularExpressions.Regex.Match(ns.Ip($"-o link show {ifname}"), @" mtu (\d+)").Groups[1].Value;
        Assert.Equal("1420", Mtu(theirs));
        Assert.Equal("1420", Mtu(ours));
    }

    [RootTheory]
    [InlineData("env")]
    [InlineData("-f")]
    [InlineData("--foreground")]
    public void ForegroundStaysAttachedUntilSignalled(string how)
    {
        using var lab = new Lab();
        var ns = lab.Ns("fg");
        string ifname = lab.NewName("rf");
        string[] args = how == "env" ? [ifname] : [how, ifname];
        var env = new Dictionary<string, string> { ["LOG_LEVEL"] = "error" };
        if (how == "env")
            env["WG_PROCESS_FOREGROUND"] = "1";
        Process p = lab.StartLogged(ns, Implementations.Routerd, args, env, $"routerd {how} {ifname}");
        Assert.True(Wait.Until(() => p.HasExited || TunnelPair.IsServing(Lab.Socket(ifname)), 10_000), "socket came up");
        Assert.False(p.HasExited, "a foreground routerd does not return");
        // `ip netns exec` execs the program: the process we started is the daemon itself, with no second copy.
        Assert.Equal([p.Id], Procs.ServingInterface(ifname));
        Procs.Signal(p.Id, "TERM");
        Assert.True(p.WaitForExit(5000), "exits on SIGTERM");
        Assert.Equal(0, p.ExitCode);
        Assert.False(File.Exists(Lab.Socket(ifname)));
        Assert.False(HasLink(ns, ifname));
    }

    [RootTheory]
    [InlineData("silent")]
    [InlineData("verbose")]
    public void LogLevelIsHonoured(string level)
    {
        using var lab = new Lab();
        var ns = lab.Ns("log");
        string ifname = lab.NewName("rl");
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns.Name, Implementations.Routerd, "-f", ifname })
            psi.ArgumentList.Add(a);
        psi.Environment["LOG_LEVEL"] = level;
        using Process p = Process.Start(psi)!;
        lab.Own(p);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(Wait.Until(() => p.HasExited || TunnelPair.IsServing(Lab.Socket(ifname)), 10_000));
        // Things worth a debug line: a listen port, a peer, a link change, then the exit.
        ns.Exec("wg", $"set {ifname} listen-port 51998 peer {Wg.PubKey(Wg.GenKey())} allowed-ips 10.1.2.3/32");
        ns.Ip($"link set {ifname} up");
        ns.Ip($"link del {ifname}");
        Assert.True(p.WaitForExit(5000), "exits when the interface is deleted");
        Assert.True(Task.WaitAll([stdout, stderr], 5000));
        string all = stdout.Result + stderr.Result;
        Console.WriteLine($"LOG_LEVEL={level} printed {all.Length} chars:\n{all}");
        if (level == "silent")
            Assert.Equal("", all);
        else
        {
            Assert.Contains("DEBUG", all);
            Assert.Contains(ifname, all);
        }
    }

    [RootTheory]
    [InlineData("abcdefghijklmnopq", false)]  // longer than IFNAMSIZ-1
    [InlineData("bad/name", false)]
    [InlineData("abcdefghijklmnopq", true)]
    [InlineData("bad/name", true)]
    public void InvalidNameExitsNonZeroWithMessage(string name, bool foreground)
    {
        using var lab = new Lab();
        var ns = lab.Ns("bad");
        var p = Bounded.Run("ip", new[] { "netns", "exec", ns.Name, Implementations.Routerd }.Concat(foreground ? ["-f", name] : [name]), 10_000, unset: ["LOG_LEVEL"]);
        Console.WriteLine($"exit {p.ExitCode}: {p.Stderr.Trim()}");
        Assert.NotEqual(0, p.ExitCode);
        Assert.Contains(name, p.Stderr);
        Assert.Empty(Procs.ServingInterface(name));
        Assert.Equal("", ns.Ip("-o link show type tun"));
    }
}
