namespace Router.Daemon.Hosting;

/// <summary>How much routerd says, from LOG_LEVEL as wireguard-go reads it.</summary>
internal enum LogLevel
{
    Silent = 0,
    Error = 1,
    Info = 2,
    Verbose = 3,
}

/// <summary>
/// routerd's log: one line per event on stdout (journald adds the time and unit), errors on stderr.
/// Messages name peers by a short key prefix or their configured name, never a secret.
/// </summary>
internal static class Log
{
    private static readonly Lock Gate = new();

    /// <summary>Current level; set once at start from LOG_LEVEL (verbose | error | silent; default: info).</summary>
    public static LogLevel Level { get; set; } = LogLevel.Info;

    /// <summary>Prefix naming the interface, as wireguard-go's "(wg0) ".</summary>
    public static string Prefix { get; set; } = "";

    public static LogLevel FromEnvironment(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "verbose" or "debug" => LogLevel.Verbose,
        "error" => LogLevel.Error,
        "silent" => LogLevel.Silent,
        _ => LogLevel.Info,
    };

    public static bool IsVerbose => Level >= LogLevel.Verbose;

    public static void Verbose(string message) => Write(LogLevel.Verbose, "DEBUG", message);

    public static void Info(string message) => Write(LogLevel.Info, "INFO", message);

    public static void Error(string message) => Write(LogLevel.Error, "ERROR", message);

    private static void Write(LogLevel level, string tag, string message)
    {
        if (Level < level)
            return;
        TextWriter w = level == LogLevel.Error ? Console.Error : Console.Out;
        lock (Gate)
        {
            w.WriteLine($"{tag}: {Prefix}{message}");
            w.Flush();
        }
    }
}
