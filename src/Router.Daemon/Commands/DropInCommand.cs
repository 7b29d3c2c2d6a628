using Router.Daemon.Cli;
using Router.Daemon.Hosting;
using Router.Linux.Uapi;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd [-f|--foreground] IFNAME</c>: a drop-in for wireguard-go. Creates the TUN interface and the UAPI socket,
/// and returns once both exist while the tunnel runs on in the background (unless -f or WG_PROCESS_FOREGROUND=1).
/// Honours LOG_LEVEL=verbose|error|silent. Exits on SIGTERM/SIGINT, on <c>ip link del</c>, or when the socket file is removed.
/// </summary>
internal static class DropInCommand
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(15);

    public static int Run(ParsedCommand command)
    {
        string name = command.Interface!;
        Log.Level = Log.FromEnvironment(Environment.GetEnvironmentVariable("LOG_LEVEL"));
        Log.Prefix = $"({name}) ";
        bool foreground = command.Foreground || Environment.GetEnvironmentVariable("WG_PROCESS_FOREGROUND") == "1";
        if (!foreground)
            return Background.Start(name, Path.Combine(UapiServer.DefaultDirectory, name + ".sock"), ReadyTimeout);

        Background.DetachIfChild();
        // As wireguard-go: the UAPI socket is the owner's alone from bind(2) on, whatever umask routerd was started with.
        Interop.Libc.Umask(Interop.Libc.OwnerOnlyUmask);
        // Catch SIGTERM/SIGINT before the socket can answer: whoever saw it answer may signal at once (a script, a
        // supervisor), and the default action would kill routerd without removing its socket file.
        var gate = new Lock();
        TunnelHost? running = null;
        string? early = null;
        void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
        {
            context.Cancel = true;
            lock (gate)
            {
                if (running is null)
                    early = $"received {context.Signal}";
                else
                    running.RequestStop($"received {context.Signal}");
            }
        }
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);
        TunnelHost host;
        try
        {
            host = TunnelHost.Start(name);
            lock (gate)
            {
                running = host;
                if (early is not null)
                    host.RequestStop(early);
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Log.Error($"cannot start {name}: {e.Message}");
            return 1;
        }
        Background.ReleaseStdioIfChild(Environment.GetEnvironmentVariable("LOG_LEVEL"));
        MemoryLog.StartFromEnvironment();
        using (host)
        {
            string reason = host.WaitForStop();
            Log.Info($"shutting down: {reason}");
        }
        return 0;
    }
}
