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
    public static int Seconds => int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), out int s) && s > 0 ? s : 10;

    public static void Run<T>(ITestOutputHelper output, string target, Gen<T> gen, Action<T> property, Func<T, string>? print = null)
    {
        long inputs = 0;
        var clock = Stopwatch.StartNew();
        gen.Sample(
            input =>
            {
                Interlocked.Increment(ref inputs);
                property(input);
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
