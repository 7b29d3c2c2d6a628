namespace Router.Daemon.Tests.Interop;

/// <summary>The userspace WireGuard programs the interop tests run: routerd (the AOT binary) and the stock peer.</summary>
internal static class Implementations
{
    /// <summary>Debian's wireguard-go, the reference userspace implementation.</summary>
    public const string WireguardGo = "/usr/bin/wireguard-go";

    /// <summary>
    /// The published routerd: $ROUTERD_BIN, else artifacts/linux-x64/routerd in the repository. The test command
    /// publishes it before the interop stage; a missing binary is a failure, not a skip.
    /// </summary>
    public static string Routerd
    {
        get
        {
            string? fromEnv = Environment.GetEnvironmentVariable("ROUTERD_BIN");
            if (!string.IsNullOrEmpty(fromEnv))
                return Path.GetFullPath(fromEnv);
            string? dir = AppContext.BaseDirectory;
            while (dir is not null && !File.Exists(Path.Combine(dir, "Router.sln")))
                dir = Path.GetDirectoryName(dir);
            string candidate = Path.Combine(dir ?? ".", "artifacts", "linux-x64", "routerd");
            if (!File.Exists(candidate))
                throw new FileNotFoundException("routerd is not published: run scripts/publish.sh linux-x64 (or set ROUTERD_BIN)", candidate);
            return candidate;
        }
    }
}
