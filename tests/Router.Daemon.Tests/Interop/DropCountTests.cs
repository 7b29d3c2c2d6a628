using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Drops an admin can see. routerd is stopped (SIGSTOP) while 20,000 datagrams of 1,200 bytes (24 MB) arrive at
/// its port, more than its 7 MiB socket buffer holds: the kernel drops the rest at the socket, where routerd never
/// sees them. After SIGCONT the count must be in `routerd show` and the log (drop-in mode: wg(8) has no place for it)
/// and in `routerd show` and the Prometheus metrics (firmware mode), as UdpReceive beside the engine's own reasons.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed partial class DropCountTests
{
    private const int Burst = 20_000;

    [RootFact]
    public void DropInShowsAndLogsTheDatagramsTheKernelDroppedAtItsSocket()
    {
        using var lab = new Lab();
        var ns = lab.Ns("dd");
        string ifname = lab.NewName("dd");
        var log = new ConcurrentQueue<string>();
        var routerd = Start(lab, ns, [Implementations.Routerd, "-f", ifname], new() { ["LOG_LEVEL"] = "info" }, log);
        Assert.True(Wait.Until(() => routerd.HasExited || TunnelPair.IsServing(Lab.Socket(ifname)), 15_000) && !routerd.HasExited, "routerd did not come up");
        lab.SetConf(ns, ifname, $"[Interface]\nPrivateKey = {Wg.GenKey()}\nListenPort = 51820\n\n[Peer]\nPublicKey = {Wg.PubKey(Wg.GenKey())}\nAllowedIPs = 10.97.0.2/32\n");
        ns.Ip($"link set {ifname} up");

        long kernelDrops = Flood(ns, routerd.Id);
        // `routerd show` reads them from the drop-in's UAPI socket (routerd's own get=drops), away from any firmware daemon.
        var env = new Dictionary<string, string> { ["ROUTERD_STATUS_SOCKET"] = lab.File("", "no-status") + ".absent" };
        long shown = 0;
        Assert.True(Wait.Until(() => (shown = ShownDrops(env, ifname, ns)) >= kernelDrops, 10_000), $"routerd show {ifname}: UdpReceive {shown}, the kernel dropped {kernelDrops}");
        Assert.Equal(kernelDrops, shown);
        Procs.Signal(routerd.Id, "TERM");
        Assert.True(routerd.WaitForExit(15_000), "routerd did not stop on SIGTERM");
        routerd.WaitForExit(); // the output is complete
        string text = string.Join("\n", log);
        Console.WriteLine(text);
        Match m = TotalLine().Match(text);
        Assert.True(m.Success, "no 'dropped in total' line with UdpReceive in the log:\n" + text);
        long logged = long.Parse(m.Groups[1].Value);
        Console.WriteLine($"kernel dropped {kernelDrops} at the socket (ss); routerd logged UdpReceive {logged}");
        Assert.True(logged > 1000, $"UdpReceive {logged}");
        Assert.Equal(kernelDrops, logged);
    }

    [RootFact]
    public void FirmwareModeShowsThemInShowAndMetrics()
    {
        using var lab = new Lab();
        var ns = lab.Ns("df");
        string ifname = lab.NewName("df");
        string keyFile = lab.File(Wg.GenKey() + "\n", "wg.key");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string dir = Path.GetDirectoryName(keyFile)!;
        string config = lab.File($$"""
            {
              "interfaces": {
                "{{ifname}}": {
                  "privateKeyFile": "{{keyFile}}", "listenPort": 51820, "addresses": ["10.98.0.1/24"],
                  "peers": [ { "name": "far", "publicKey": "{{Wg.PubKey(Wg.GenKey())}}", "allowedIps": ["10.98.0.2/32"] } ]
                }
              },
              "metrics": { "enabled": true, "listen": "127.0.0.1:9586" },
              "state": { "timestampFloorFile": "{{dir}}/timestamp-floor" }
            }
            """, "router.json");
        var env = new Dictionary<string, string>
        {
            ["ROUTERD_CONTROL_SOCKET"] = Path.Combine(dir, "control.sock"),
            ["ROUTERD_STATUS_SOCKET"] = Path.Combine(dir, "status.sock"),
            ["ROUTERD_SEED"] = "none",
            ["LOG_LEVEL"] = "info",
        };
        var log = new ConcurrentQueue<string>();
        var routerd = Start(lab, ns, [Implementations.Routerd, "run", "--config", config], env, log);
        Assert.True(Wait.Until(() => routerd.HasExited || File.Exists(env["ROUTERD_STATUS_SOCKET"]), 20_000) && !routerd.HasExited, "routerd run did not come up");

        long kernelDrops = Flood(ns, routerd.Id);
        long shown = 0;
        Assert.True(Wait.Until(() => (shown = ShownDrops(env)) >= kernelDrops, 10_000), $"routerd show: UdpReceive {shown}, the kernel dropped {kernelDrops}");
        Assert.Equal(kernelDrops, shown);
        string metrics = FetchMetrics(ns);
        Assert.Contains($"router_packets_dropped_total{{interface=\"{ifname}\",reason=\"udp_receive\"}} {kernelDrops}\n", metrics);
        Assert.Contains("reason=\"unknown_type\"", metrics); // what routerd read of the burst: junk, counted as such
        string text = Bounded.Run(Implementations.Routerd, ["show"], 30_000, env).Stdout;
        Console.WriteLine(text);
        Assert.Contains($"UdpReceive {kernelDrops}", text);
    }

    /// <summary>
    /// Stops routerd, sends the burst from inside the namespace, reads the socket's drop count as the kernel reports
    /// it (ss -uam: "d" in skmem), resumes routerd. Returns the kernel's count.
    /// </summary>
    private static long Flood(Netns ns, int pid)
    {
        Procs.Signal(pid, "STOP");
        try
        {
            ns.Run(() =>
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                var to = new IPEndPoint(IPAddress.Loopback, 51820);
                byte[] junk = new byte[1200]; // type 0: not a WireGuard message
                for (int i = 0; i < Burst; i++)
                    s.SendTo(junk, to);
                return 0;
            });
            string ss = ns.Exec("ss", "-Huam sport = :51820");
            var drops = SkmemDrops().Matches(ss).Select(m => long.Parse(m.Groups[1].Value)).Sum();
            Assert.True(drops > 1000, $"the kernel dropped only {drops} of {Burst} datagrams at a stopped socket:\n{ss}");
            return drops;
        }
        finally
        {
            Procs.Signal(pid, "CONT");
        }
    }

    /// <summary>UdpReceive as `routerd show --json` reports it: from the firmware daemon, or (drop-in) run inside the interface's namespace.</summary>
    private static long ShownDrops(Dictionary<string, string> env, string? ifname = null, Netns? ns = null)
    {
        string[] args = ifname is null ? ["show", "--json"] : ["show", ifname, "--json"];
        var show = ns is null
            ? Bounded.Run(Implementations.Routerd, args, 30_000, env)
            : Bounded.Run("ip", new[] { "netns", "exec", ns.Name, Implementations.Routerd }.Concat(args), 30_000, env);
        using var doc = JsonDocument.Parse(show.Stdout);
        var iface = doc.RootElement.GetProperty("interfaces")[0];
        return iface.TryGetProperty("dropped", out var d) && d.TryGetProperty("UdpReceive", out var n) ? n.GetInt64() : 0;
    }

    private static string FetchMetrics(Netns ns) => ns.Run(() =>
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000 };
        s.Connect(IPAddress.Loopback, 9586);
        s.Send("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n"u8);
        var text = new StringBuilder();
        byte[] buffer = new byte[16384];
        int n;
        while ((n = s.Receive(buffer)) > 0)
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        return text.ToString();
    });

    private static Process Start(Lab lab, Netns ns, string[] command, Dictionary<string, string> env, ConcurrentQueue<string> log)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", ns.Name }.Concat(command))
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
            psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        lab.Own(p);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    [GeneratedRegex(@"dropped in total: .*UdpReceive (\d+)")]
    private static partial Regex TotalLine();

    [GeneratedRegex(@"skmem:\([^)]*,d(\d+)\)")]
    private static partial Regex SkmemDrops();
}
