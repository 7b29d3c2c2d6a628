using Router.Daemon.Apply;
using Router.Daemon.Config;

namespace Router.Daemon.Firmware;

/// <summary>
/// Where the firmware mode keeps its sockets and finds its seed. The defaults are the image's; the environment can
/// move them (tests run several daemons side by side, and a second instance must not take the first one's socket).
/// </summary>
internal static class FirmwarePaths
{
    public const string DefaultStatusSocket = "/run/router/status.sock";

    public static string ControlSocket => Env("ROUTERD_CONTROL_SOCKET") ?? Apply.ControlSocket.DefaultPath;

    public static string StatusSocket => Env("ROUTERD_STATUS_SOCKET") ?? DefaultStatusSocket;

    /// <summary>The seed on the FAT boot partition; ROUTERD_SEED=none disables the import.</summary>
    public static string? Seed => Env("ROUTERD_SEED") is string s ? (s == "none" ? null : s) : SeedImport.DefaultSeedPath;

    public static string Config(string? option) => option ?? Env("ROUTERD_CONFIG") ?? ConfigLoader.DefaultPath;

    /// <summary>Seconds peers get to answer after 'routerd apply' (default 20: four handshake attempts).</summary>
    public static TimeSpan ProbeTimeout
        => int.TryParse(Env("ROUTERD_PROBE_TIMEOUT"), out int s) && s > 0 ? TimeSpan.FromSeconds(s) : ApplyTransaction.DefaultProbeTimeout;

    /// <summary>The confirm window of an apply over SSH that cuts the session's path, when none was asked for (default 120 s).</summary>
    public static TimeSpan SshConfirmWindow
        => int.TryParse(Env("ROUTERD_SSH_CONFIRM"), out int s) && s is > 0 and <= 86400 ? TimeSpan.FromSeconds(s) : SshPath.DefaultConfirmWindow;

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
