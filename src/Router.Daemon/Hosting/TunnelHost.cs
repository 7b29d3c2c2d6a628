using System.Runtime.InteropServices;
using Router.Linux;
using Router.Linux.Uapi;
using Router.Tunnel;

namespace Router.Daemon.Hosting;

/// <summary>
/// One running WireGuard interface: the TUN device, the engine, the UDP sockets it binds and the UAPI socket that
/// wg(8) talks to. It stops when asked (SIGTERM/SIGINT), when the interface is deleted (<c>ip link del</c>) or when
/// its UAPI socket file is removed — the three exits wireguard-go has, which wg-quick relies on.
/// </summary>
internal sealed class TunnelHost : IDisposable
{
    private readonly ManualResetEventSlim _stop = new();
    private readonly Tun _tun;
    private readonly Device _device;
    private readonly UapiServer _uapi;
    private string _stopReason = "";
    private long _stopRequestedAt; // Stopwatch timestamp of the first stop request

    public string InterfaceName { get; }

    public Device Device => _device;

    public Tun Tun => _tun;

    private TunnelHost(string interfaceName, Tun tun, Device device, UapiServer uapi)
    {
        InterfaceName = interfaceName;
        _tun = tun;
        _device = device;
        _uapi = uapi;
    }

    /// <summary>Creates the interface and its UAPI socket and starts moving packets.</summary>
    public static TunnelHost Start(string interfaceName, Action? changed = null)
    {
        TunnelHost? host = null;
        Tun tun = Tun.Create(interfaceName, e => host?.OnTunEvent(e));
        Device? device = null;
        UapiServer? uapi = null;
        try
        {
            // wireguard-go and the kernel module create the interface at 1420 (room for IPv6 + UDP + WireGuard on a
            // 1500-byte path); at the kernel's TUN default of 1500 every full-size packet would fragment outside.
            tun.SetMtu(Config.InterfaceConfig.DefaultMtu);
            device = NewDevice(tun, timestamps: null);
            uapi = new UapiServer(tun.Name, new UapiDeviceAdapter(device) { Changed = changed }) { Log = Log.Verbose, Warn = Log.Info };
            host = new TunnelHost(tun.Name, tun, device, uapi);
            device.Faulted += e => host.RequestStop($"engine fault: {e.Message}");
            // wireguard-go creates the link down and wg-quick sets it up after configuring: until then no handshake.
            // Read after host is set, so a change from here on arrives as an event and this is never the stale one.
            device.SetUp(LinkIsUp(tun));
            device.Start();
            Log.Info($"interface {tun.Name} is up; UAPI on {uapi.SocketPath}");
            return host;
        }
        catch
        {
            uapi?.Dispose();
            if (device is not null)
                device.Dispose(); // the device owns the TUN
            else
                tun.Dispose();
            throw;
        }
    }

    private static UdpBind OpenBind(ushort port, uint mark)
    {
        UdpBind bind = UdpBind.Open(port);
        if (mark != 0)
            bind.SetMark(mark);
        Log.Verbose($"UDP bound on port {bind.Port}{(mark != 0 ? $", fwmark 0x{mark:x}" : "")}");
        return bind;
    }

    /// <summary>
    /// The engine drops a read when its pipeline is full (Device.Threads.cs says why); ROUTERD_PIPELINE_DROP=0 makes it
    /// wait instead (more TCP throughput, a longer queue).
    /// </summary>
    internal static bool DropWhenPipelineFull => Environment.GetEnvironmentVariable("ROUTERD_PIPELINE_DROP") != "0";

    /// <summary>ROUTERD_PIPELINE_BYTES: the engine's in-flight bound per direction (64 KiB to 64 MiB).</summary>
    internal static int PipelineBytes => EnvInt("ROUTERD_PIPELINE_BYTES", 64 << 10, 64 << 20, Device.DefaultPipelineBytes);

    /// <summary>ROUTERD_PIPELINE_BATCHES: batches in flight per direction (2 to 64).</summary>
    internal static int PipelineBatches => EnvInt("ROUTERD_PIPELINE_BATCHES", 2, 64, Device.DefaultBatchesInFlight);

    /// <summary>ROUTERD_PEER_LIMIT: most peers per interface (1 to 1,048,576); a set beyond it answers ENOSPC.</summary>
    internal static int PeerLimit => EnvInt("ROUTERD_PEER_LIMIT", 1, 1 << 20, Device.DefaultPeerLimit);

    private static int EnvInt(string name, int min, int max, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value >= min && value <= max ? value : fallback;

    /// <summary>A device on this TUN with the pipeline settings of the environment.</summary>
    internal static Device NewDevice(Tun tun, ITimestampSource? timestamps)
    {
        return new Device(tun, OpenBind, clock: null, timestamps: timestamps)
        {
            LinkProbe = () => ProbeLink(tun),
            DropWhenPipelineFull = DropWhenPipelineFull,
            PipelineBytes = PipelineBytes,
            BatchesInFlight = PipelineBatches,
            PeerLimit = PeerLimit,
        };
    }

    /// <summary>IFF_UP (linux/if.h) of the TUN link, read from the kernel in whichever namespace the link is now.</summary>
    internal static bool LinkIsUp(Tun tun) => (tun.QueryLink().Flags & 0x1) != 0;

    /// <summary>Whether the link is up, false when it cannot be read (gone).</summary>
    internal static bool ProbeLink(Tun tun)
    {
        try
        {
            return LinkIsUp(tun);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or ObjectDisposedException)
        {
            return false; // gone, or closed by a shutdown under way
        }
    }

    /// <summary>
    /// Sets the device up or down as the link is now. Called on an up/down event, it asks the kernel rather than
    /// trusting the event: events arrive late, and the first one after start (an MTU or address change while still
    /// down) would otherwise take the device down after it went up, killing the handshake just sent.
    /// </summary>
    internal static void FollowLink(Device device, Tun tun)
    {
        try
        {
            device.SetUp(LinkIsUp(tun));
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or ObjectDisposedException)
        {
            // The link is gone (the Deleted event follows) or the TUN is closing.
        }
    }

    private void OnTunEvent(TunEvent e)
    {
        switch (e)
        {
            case TunEvent.Up or TunEvent.Down:
                FollowLink(_device, _tun);
                Log.Verbose($"interface {e.ToString().ToLowerInvariant()}");
                break;
            case TunEvent.Deleted:
                RequestStop($"interface {InterfaceName} was deleted");
                break;
            case TunEvent.MtuChanged:
                Log.Verbose($"MTU is now {_tun.Mtu}");
                break;
            case TunEvent.NamespaceChanged:
                Log.Info(DescribeNamespace(_tun));
                FollowLink(_device, _tun); // a moved link arrives down; up/down there is followed from now on
                break;
            default:
                Log.Verbose($"interface {e.ToString().ToLowerInvariant()}");
                break;
        }
    }

    /// <summary>The log line for a link that moved to another network namespace or back.</summary>
    internal static string DescribeNamespace(Tun tun) => tun.InCreationNamespace
        ? $"interface {tun.Name} is back in routerd's network namespace (index {tun.InterfaceIndex})"
        : $"interface {tun.Name} moved to another network namespace (index {tun.InterfaceIndex} there); the UDP socket stays here";

    /// <summary>Asks the host to stop; <see cref="WaitForStop"/> returns with the reason.</summary>
    public void RequestStop(string reason)
    {
        lock (_stop)
        {
            if (_stop.IsSet)
                return;
            _stopReason = reason;
            _stopRequestedAt = System.Diagnostics.Stopwatch.GetTimestamp();
            _stop.Set();
        }
    }

    /// <summary>
    /// Blocks until a stop is requested or the UAPI socket file disappears; returns the reason. Meanwhile logs the
    /// drops of each <see cref="DropSummary.Interval"/> (drop-in mode has no metrics endpoint: the log is where an
    /// admin sees them), and their totals at the end.
    /// </summary>
    public string WaitForStop()
    {
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        var drops = new DropSummary(_device);
        var sinceSummary = System.Diagnostics.Stopwatch.StartNew();
        var health = new Router.Daemon.Firmware.PeerHealthLog((error, line) => { if (error) Log.Error(line); else Log.Info(line); });
        int loops = 0;
        // The socket file has no notification of its own: a stat every 200 ms bounds the delay (wireguard-go: inotify).
        while (!_stop.Wait(200))
        {
            if (!_uapi.SocketFileIsOurs)
                RequestStop($"UAPI socket {_uapi.SocketPath} was removed");
            if (++loops % 5 == 0)
                LogHealth(health); // once a second: peers up and down, as the firmware mode logs them
            if (sinceSummary.Elapsed >= DropSummary.Interval)
            {
                sinceSummary.Restart();
                if (drops.Next() is { } line)
                    Log.Info(line);
            }
        }
        if (drops.Totals() is { } totals)
            Log.Info(totals);
        return _stopReason;
    }

    /// <summary>Tunnel health for the drop-in mode: peers named by their key's first characters (no names here).</summary>
    private void LogHealth(Router.Daemon.Firmware.PeerHealthLog health)
    {
        try
        {
            DeviceSnapshot snap = _device.Snapshot();
            snap.PrivateKey?.Clear();
            var rejected = Router.Daemon.Firmware.PeerHealthLog.Rejected.From(_device);
            DateTime wallNow = DateTime.UtcNow;
            TimeSpan monoNow = Router.Leds.LedController.MonotonicNow();
            var samples = new List<Router.Daemon.Firmware.PeerHealthSample>(snap.Peers.Count);
            foreach (var p in snap.Peers)
            {
                samples.Add(Router.Daemon.Firmware.PeerHealthLog.Sample("", p.PublicKey.ToString(), p.PublicKey.ToBase64(), p, rejected, wallNow, monoNow));
                p.PresharedKey?.Clear();
            }
            health.Update(samples, monoNow);
        }
        catch (ObjectDisposedException)
        {
            // stopping
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // we shut down in order ourselves
        RequestStop($"received {context.Signal}");
    }

    /// <summary>
    /// Stops everything; at verbose level logs where the time went since the stop request, the kernel's part (deleting
    /// the interface inside close(2), seconds on a loaded machine) apart from routerd's own.
    /// </summary>
    public void Dispose()
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        _uapi.Dispose();
        TimeSpan uapi = System.Diagnostics.Stopwatch.GetElapsedTime(start);
        _device.Stop();
        _device.Dispose();
        _stop.Dispose();
        if (Log.IsVerbose)
        {
            long requested = _stopRequestedAt != 0 ? _stopRequestedAt : start;
            TimeSpan total = System.Diagnostics.Stopwatch.GetElapsedTime(requested), kernel = _tun.CloseDuration;
            Log.Verbose($"shutdown: {Ms(total)} ms since the stop request: noticed after {Ms(System.Diagnostics.Stopwatch.GetElapsedTime(requested, start))} ms, " +
                $"UAPI closed in {Ms(uapi)} ms, kernel deleted the interface in {Ms(kernel)} ms, routerd's own part {Ms(total - kernel)} ms");
        }
    }

    private static long Ms(TimeSpan t) => (long)t.TotalMilliseconds;
}
