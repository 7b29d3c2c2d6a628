using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Local clients abusing the AOT routerd's UAPI socket (issue 20, points 3 and 5): thousands of stalled connections,
/// connections that never finish a request, overlong lines, a task limit like systemd's TasksMax. The daemon must
/// stay small, keep answering `wg`, and never die. Thread counts and RSS are read from /proc/PID/status and printed.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed partial class UapiAbuseTests
{
    private static (int Threads, long RssKib) Status(int pid)
    {
        string status = File.ReadAllText($"/proc/{pid}/status");
        return (int.Parse(ThreadsLine().Match(status).Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(RssLine().Match(status).Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"Threads:\s+(\d+)")]
    private static partial Regex ThreadsLine();

    [GeneratedRegex(@"VmRSS:\s+(\d+)")]
    private static partial Regex RssLine();

    private static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static Socket Connect(string ifname)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 30_000 };
        s.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(Lab.Socket(ifname)));
        return s;
    }

    /// <summary>Opens up to <paramref name="count"/> idle connections within a time bound (a daemon that stops accepting must not hang the test).</summary>
    private static List<Socket> OpenIdle(string ifname, int count, int timeoutMs = 60_000)
    {
        var sockets = new List<Socket>(count);
        var opener = Task.Run(() =>
        {
            for (int i = 0; i < count; i++)
            {
                try
                {
                    var s = Connect(ifname);
                    lock (sockets)
                        sockets.Add(s);
                }
                catch (SocketException)
                {
                    return; // the daemon is gone (or the socket is)
                }
            }
        });
        opener.Wait(timeoutMs);
        lock (sockets)
            return [.. sockets];
    }


    private static void CloseAll(List<Socket> sockets)
    {
        foreach (Socket s in sockets)
            s.Dispose();
    }

    /// <summary>A daemon with a key and one peer, so that `wg show` has something to say.</summary>
    private static (Process Daemon, Netns Ns, string Ifname) StartRouterd(Lab lab)
    {
        var ns = lab.Ns("uab");
        string ifname = lab.NewName("ua");
        Process daemon = lab.Daemon(ns, Implementations.Routerd, ifname, logLevel: "info");
        lab.SetConf(ns, ifname, $"[Interface]\nPrivateKey = {Wg.GenKey()}\nListenPort = 51820\n\n[Peer]\nPublicKey = {Wg.PubKey(Wg.GenKey())}\nAllowedIPs = 10.99.0.0/24\n");
        return (daemon, ns, ifname);
    }

    [RootFact]
    public void Two_thousand_stalled_connections_leave_the_daemon_small_and_wg_working()
    {
        using var lab = new Lab();
        var (daemon, ns, ifname) = StartRouterd(lab);
        Assert.Contains("peer:", ns.Exec("wg", $"show {ifname}"));
        var before = Status(daemon.Id);

        var watch = Stopwatch.StartNew();
        List<Socket> stalled = OpenIdle(ifname, 2000);
        long openMs = watch.ElapsedMilliseconds;
        try
        {
            Thread.Sleep(1000);
            var during = Status(daemon.Id);
            // wg opens a connection of its own while 2,000 others sit idle: it must be served, promptly.
            watch.Restart();
            string shown = ns.Exec("wg", $"show {ifname}");
            long wgMs = watch.ElapsedMilliseconds;
            var duringWg = Status(daemon.Id);
            Console.WriteLine($"uapi abuse: {stalled.Count} stalled connections opened in {openMs} ms; threads {before.Threads} -> {during.Threads} " +
                $"(after wg show {duringWg.Threads}), RSS {before.RssKib / 1024} -> {during.RssKib / 1024} MiB; wg show took {wgMs} ms (load {Load()})");
            Assert.Equal(2000, stalled.Count);
            Assert.Contains("peer:", shown);
            Assert.False(daemon.HasExited, "routerd died");
            Assert.True(Math.Max(during.Threads, duringWg.Threads) < 64, $"{during.Threads} threads with 2,000 connections (one per connection?)");
            Assert.True(during.RssKib - before.RssKib < 64 * 1024, $"RSS grew by {(during.RssKib - before.RssKib) / 1024} MiB");
        }
        finally
        {
            CloseAll(stalled);
        }

        Thread.Sleep(2000);
        var after = Status(daemon.Id);
        Console.WriteLine($"uapi abuse: after the clients left: threads {after.Threads}, RSS {after.RssKib / 1024} MiB (load {Load()})");
        Assert.False(daemon.HasExited, "routerd died");
        Assert.Contains("peer:", ns.Exec("wg", $"show {ifname}"));
        Assert.True(after.Threads < 64, $"{after.Threads} threads after the clients left");
    }

    [RootFact]
    public void An_idle_connection_and_an_unfinished_request_are_closed_after_the_idle_timeout()
    {
        using var lab = new Lab();
        var (daemon, ns, ifname) = StartRouterd(lab);
        using Socket idle = Connect(ifname);
        using Socket partial = Connect(ifname);
        partial.Send("set=1\nlisten_port=4242\n"u8); // no blank line: never finished
        var watch = Stopwatch.StartNew();

        Assert.Equal(0, idle.Receive(new byte[16])); // EOF; a timeout (30 s) throws instead
        long idleMs = watch.ElapsedMilliseconds;
        Assert.Equal(0, partial.Receive(new byte[16]));
        long partialMs = watch.ElapsedMilliseconds;
        Console.WriteLine($"uapi idle timeout: an idle connection closed after {idleMs} ms, a half-sent set after {partialMs} ms (load {Load()})");
        Assert.InRange(idleMs, 8_000, 29_000); // 10 s, checked every second; not at once
        Assert.Contains("listening port: 51820", ns.Exec("wg", $"show {ifname}")); // the half-sent set changed nothing
        Assert.False(daemon.HasExited);
    }

    [RootFact]
    public void A_5000_byte_line_gets_errno_minus_5()
    {
        using var lab = new Lab();
        var (daemon, ns, ifname) = StartRouterd(lab);
        using Socket s = Connect(ifname);
        s.Send(Encoding.ASCII.GetBytes("set=1\nendpoint=" + new string('1', 5000) + "\n\n"));
        string reply = SocketText.ReadToEnd(s);
        Console.WriteLine($"uapi long line: reply {reply.Replace("\n", "\\n")}");
        Assert.Equal("errno=-5\n\n", reply); // then EOF: ReadToEnd returned
        Assert.Contains("peer:", ns.Exec("wg", $"show {ifname}"));
        Assert.False(daemon.HasExited);
    }

    /// <summary>
    /// Under a task limit (systemd's TasksMax; here a pids cgroup of 60), a thread per connection ran out after a few
    /// dozen connections and the daemon died of an unhandled OutOfMemoryException, taking the tunnel with it.
    /// </summary>
    [PidsCgroupFact]
    public void A_thousand_connections_under_a_pids_limit_of_60_do_not_kill_the_daemon()
    {
        using var cgroup = PidsCgroup.Create($"router-h20b-{Environment.ProcessId}", 60);
        using var lab = new Lab(); // disposed first: the daemon is killed before the cgroup is removed
        var (daemon, ns, ifname) = StartRouterd(lab);
        cgroup.Add(daemon.Id);
        int tasksBefore = cgroup.Current;

        List<Socket> stalled = OpenIdle(ifname, 1000);
        try
        {
            Thread.Sleep(1000);
            int tasksDuring = cgroup.Current;
            Console.WriteLine($"uapi under pids.max=60: {stalled.Count} connections opened; tasks {tasksBefore} -> {tasksDuring} (load {Load()})");
            Assert.False(daemon.HasExited, $"routerd died (exit code {(daemon.HasExited ? daemon.ExitCode : 0)})");
            Assert.Contains("peer:", ns.Exec("wg", $"show {ifname}"));
            Assert.Equal(1000, stalled.Count);
        }
        finally
        {
            CloseAll(stalled);
        }
        Thread.Sleep(1000);
        Assert.False(daemon.HasExited, "routerd died after the clients left");
        Assert.Contains("peer:", ns.Exec("wg", $"show {ifname}"));
    }
}
