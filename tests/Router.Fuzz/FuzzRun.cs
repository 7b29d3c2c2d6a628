using System.Diagnostics;
using CsCheck;
using Xunit.Abstractions;

namespace Router.Fuzz;

/// <summary>
/// Runs one fuzz target for its time budget and reports what it did: inputs, wall time, inputs per second and the
/// load average, to the test output and, when FUZZ_REPORT names a file, as one tab-separated line appended to it
/// (scripts/fuzz.sh collects those into docs/RELIABILITY.md's table).
/// </summary>
/// <remarks>
/// FUZZ_SECONDS sets every target's budget (default 10 s: the bounded run of the test command); FUZZ_SEED replays
/// a failure CsCheck printed. One thread per target: the machine is shared, and the device targets are stateful.
/// </remarks>
internal static class FuzzRun
{
    /// <summary>Longer than any input takes on a loaded machine (the GRO target waits up to 15 s for the kernel).</summary>
    public const int HangSeconds = 60;

    public static int Seconds => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), out int s) && s > 0 ? s : 10;

    public static void Run<T>(ITestOutputHelper output, string target, Gen<T> gen, Action<T> property, Func<T, string>? print = null)
    {
        long inputs = 0;
        var clock = Stopwatch.StartNew();
        // No hang: one input that runs past HangSeconds ends the process with the input named, so a bounded run
        // fails instead of never finishing.
        long inputStarted = 0;
        T? current = default;
        using var watchdog = new Timer(_ =>
        {
            long started = Volatile.Read(ref inputStarted);
            if (started != 0 && Stopwatch.GetElapsedTime(started).TotalSeconds > HangSeconds)
                Environment.FailFast($"fuzz {target}: one input ran over {HangSeconds} s: {(print is null ? current?.ToString() : print(current!))}");
        }, null, 1000, 1000);
        gen.Sample(
            input =>
            {
                Interlocked.Increment(ref inputs);
                current = input;
                Volatile.Write(ref inputStarted, Stopwatch.GetTimestamp());
                property(input);
                Volatile.Write(ref inputStarted, 0);
            },
            writeLine: output.WriteLine,
            seed: Environment.GetEnvironmentVariable("FUZZ_SEED"),
            time: Seconds,
            threads: 1,
            print: print);
        clock.Stop();
        Report(output, target, inputs, clock.Elapsed);
    }

    public static void Report(ITestOutputHelper output, string target, long inputs, TimeSpan elapsed)
    {
        string load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";
        string line = $"{target}\t{inputs}\t{elapsed.TotalSeconds:F1}\t{inputs / Math.Max(elapsed.TotalSeconds, 0.001):F0}\t{load}";
        output.WriteLine($"fuzz {target}: {inputs} inputs in {elapsed.TotalSeconds:F1} s ({inputs / Math.Max(elapsed.TotalSeconds, 0.001):F0}/s), load {load}");
        string? report = Environment.GetEnvironmentVariable("FUZZ_REPORT");
        if (!string.IsNullOrEmpty(report))
            File.AppendAllText(report, line + "\n");
        Assert.True(inputs > 0, $"{target} ran no input");
    }
}
