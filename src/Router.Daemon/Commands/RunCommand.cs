using Router.Daemon.Cli;
using Router.Daemon.Firmware;
using Router.Daemon.Hosting;

namespace Router.Daemon.Commands;

/// <summary>
/// <c>routerd run [--config PATH]</c>: the firmware mode (see <see cref="FirmwareDaemon"/>). Runs in the foreground
/// (systemd Type=notify); logs to stdout for journald. LOG_LEVEL=verbose|error|silent as in the drop-in form.
/// </summary>
internal static class RunCommand
{
    public static int Run(ParsedCommand command)
    {
        Log.Level = Log.FromEnvironment(Environment.GetEnvironmentVariable("LOG_LEVEL"));
        // As the unit's UMask=0077 and wireguard-go: the control and status sockets are never, even for the moment
        // between bind(2) and chmod(2), connectable by anyone but their owner, whatever umask routerd was started with.
        Interop.Libc.Umask(Interop.Libc.OwnerOnlyUmask);
        string path = FirmwarePaths.Config(command.Option("config"));
        MemoryLog.StartFromEnvironment();
        return new FirmwareDaemon(path).Run();
    }
}
