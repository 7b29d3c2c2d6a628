using System.Net.Sockets;
using System.Text;
using Router.Daemon.Systemd;

namespace Router.Daemon.Tests.Systemd;

/// <summary>sd_notify datagrams arrive on a real AF_UNIX socket, as systemd's would receive them.</summary>
public sealed class SdNotifyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Socket Listen(string address)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(address));
        socket.ReceiveTimeout = 5000;
        return socket;
    }

    private static string Receive(Socket socket)
    {
        byte[] buffer = new byte[4096];
        int n = socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Fact]
    public void MessagesArriveOnAPathSocket()
    {
        string path = _dir.File("notify.sock");
        using var systemd = Listen(path);
        using var notify = new SdNotify(path);

        Assert.True(notify.Ready("2 interfaces, 3 peers"));
        Assert.Equal("READY=1\nSTATUS=2 interfaces, 3 peers", Receive(systemd));

        long before = SdNotify.MonotonicMicroseconds();
        Assert.True(notify.Reloading());
        string reloading = Receive(systemd);
        long after = SdNotify.MonotonicMicroseconds();
        Assert.StartsWith("RELOADING=1\nMONOTONIC_USEC=", reloading);
        long usec = long.Parse(reloading.Split("MONOTONIC_USEC=")[1]);
        Assert.InRange(usec, before, after);

        notify.Watchdog();
        Assert.Equal("WATCHDOG=1", Receive(systemd));
        notify.Status("waiting for a valid /etc/router/router.json:\ninterfaces.wg0.listenPort: error");
        Assert.Equal("STATUS=waiting for a valid /etc/router/router.json: interfaces.wg0.listenPort: error", Receive(systemd));
        notify.Stopping();
        Assert.Equal("STOPPING=1", Receive(systemd));
    }

    [Fact]
    public void AbstractSocketNamesStartWithAt()
    {
        string name = $"routerd-test-{Environment.ProcessId}-{Random.Shared.Next()}";
        using var systemd = Listen("\0" + name);
        using var notify = new SdNotify("@" + name);
        Assert.True(notify.Ready());
        Assert.Equal("READY=1", Receive(systemd));
    }

    [Fact]
    public async Task WatchdogPingsAtHalfTheIntervalOnlyWhileHealthy()
    {
        string path = _dir.File("watchdog.sock");
        using var systemd = Listen(path);
        using var notify = new SdNotify(path);
        bool healthy = true;
        using var stop = new CancellationTokenSource();
        var loop = notify.RunWatchdogAsync(TimeSpan.FromMilliseconds(200), () => Volatile.Read(ref healthy), stop.Token);
        Assert.Equal("WATCHDOG=1", Receive(systemd));
        Assert.Equal("WATCHDOG=1", Receive(systemd));
        Volatile.Write(ref healthy, false);
        await Task.Delay(600); // lets a tick that read "healthy" just before the change finish sending
        while (systemd.Available > 0)
            Receive(systemd); // pings sent before the engine wedged
        await Task.Delay(400);
        Assert.Equal(0, systemd.Available);
        stop.Cancel();
        await loop.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void WatchdogIntervalComesFromTheEnvironmentForThisProcessOnly()
    {
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", "30000000");
        Environment.SetEnvironmentVariable("WATCHDOG_PID", Environment.ProcessId.ToString());
        Assert.Equal(TimeSpan.FromSeconds(30), SdNotify.WatchdogInterval());
        Environment.SetEnvironmentVariable("WATCHDOG_PID", "1");
        Assert.Null(SdNotify.WatchdogInterval());
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", null);
        Environment.SetEnvironmentVariable("WATCHDOG_PID", null);
    }

    [Fact]
    public void NoListenerIsNotAnError()
    {
        using var notify = new SdNotify(_dir.File("nobody-listens.sock"));
        Assert.False(notify.Ready());
    }

    [Fact]
    public void MonotonicClockMatchesStopwatchOnLinux()
    {
        // .NET's Stopwatch reads CLOCK_MONOTONIC on Linux: the two must agree to well within a second.
        long ours = SdNotify.MonotonicMicroseconds();
        // Widened before scaling: nanosecond ticks times 10^6 overflow a long after about 2.5 hours of uptime.
        long stopwatch = (long)((Int128)System.Diagnostics.Stopwatch.GetTimestamp() * 1_000_000 / System.Diagnostics.Stopwatch.Frequency);
        Assert.InRange(Math.Abs(ours - stopwatch), 0, 1_000_000);
    }
}
