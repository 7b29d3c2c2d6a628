using System.Globalization;
using Router.Crypto;
using Router.Daemon.Cli;

namespace Router.Daemon.Commands;

/// <summary><c>routerd bench [--seconds N]</c>: MB/s per crypto primitive on this CPU (a quick check on a Pi).</summary>
internal static class BenchCommand
{
    public static int Run(ParsedCommand command, TextWriter output, TextWriter error)
    {
        double seconds = 1;
        string? given = command.Option("seconds");
        if (given is not null && (!double.TryParse(given, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) || seconds is <= 0 or > 60))
        {
            error.WriteLine($"routerd: --seconds must be a number of seconds between 0 and 60, not '{given}'");
            return Program.UsageError;
        }
        QuickBench.Run(output, TimeSpan.FromSeconds(seconds));
        return 0;
    }
}
