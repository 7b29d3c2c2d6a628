using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Interop;

namespace Router.Daemon.Systemd;

/// <summary>
/// The sd_notify protocol of Type=notify services, without libsystemd: one datagram of newline-separated
/// VARIABLE=value lines to the AF_UNIX socket named in $NOTIFY_SOCKET (a path, or an abstract name written with a
/// leading '@'). Since systemd 253 a reload is announced as RELOADING=1 plus MONOTONIC_USEC (CLOCK_MONOTONIC in
/// microseconds) and finished with READY=1. Sending never throws: a service must not fail because systemd is absent.
/// </summary>
internal sealed class SdNotify : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endpoint;

    public SdNotify(string notifySocket)
    {
        // '@' stands for the leading NUL of a Linux abstract socket name.
        string address = notifySocket.StartsWith('@') ? "\0" + notifySocket[1..] : notifySocket;
        _endpoint = new UnixDomainSocketEndPoint(address);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    /// <summary>The notifier systemd asked for, or null when not started by systemd with Type=notify.</summary>
    public static SdNotify? FromEnvironment()
    {
        string? socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        // Only AF_UNIX paths and abstract names; vsock addresses (VMs) are not for a router.
        if (string.IsNullOrEmpty(socket) || !(socket.StartsWith('/') || socket.StartsWith('@')))
            return null;
        return new SdNotify(socket);
    }

    /// <summary>The watchdog interval systemd expects WATCHDOG=1 within (WatchdogSec=), if it is meant for this process.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        string? usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (pid is not null && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            return null;
        return long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out long us) && us > 0
            ? TimeSpan.FromMicroseconds(us)
            : null;
    }

    /// <summary>
    /// Sends WATCHDOG=1 every half <paramref name="interval"/> while <paramref name="healthy"/> says so (systemd
    /// restarts the service when a full interval passes without one); a wedged engine stops the pings by answering
    /// false. Returns when <paramref name="cancel"/> fires.
    /// </summary>
    public async Task RunWatchdogAsync(TimeSpan interval, Func<bool> healthy, CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(interval / 2);
        try
        {
            while (await timer.WaitForNextTickAsync(cancel))
            {
                if (healthy())
                    Watchdog();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public bool Ready(string? status = null) => Send(status is null ? "READY=1" : $"READY=1\nSTATUS={OneLine(status)}");

    /// <summary>Starts a reload; send <see cref="Ready"/> when it is done (or failed and the old configuration runs on).</summary>
    public bool Reloading(string? status = null)
        => Send($"RELOADING=1\nMONOTONIC_USEC={MonotonicMicroseconds().ToString(CultureInfo.InvariantCulture)}" + (status is null ? "" : $"\nSTATUS={OneLine(status)}"));

    public bool Stopping(string? status = null) => Send(status is null ? "STOPPING=1" : $"STOPPING=1\nSTATUS={OneLine(status)}");

    public bool Watchdog() => Send("WATCHDOG=1");

    /// <summary>Free text that 'systemctl status' shows, e.g. why the daemon waits for a valid configuration.</summary>
    public bool Status(string text) => Send($"STATUS={OneLine(text)}");

    public bool Send(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), _endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>CLOCK_MONOTONIC in microseconds, the clock systemd compares MONOTONIC_USEC against.</summary>
    public static long MonotonicMicroseconds()
    {
        if (Libc.ClockGetTime(Libc.CLOCK_MONOTONIC, out var ts) != 0)
            throw new InvalidOperationException("clock_gettime(CLOCK_MONOTONIC) failed");
        return ts.Seconds * 1_000_000 + ts.Nanoseconds / 1_000;
    }

    // A newline would start a new variable: status text is one line.
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    public void Dispose() => _socket.Dispose();
}
