using System.Buffers.Text;
using System.IO.Enumeration;

namespace Router.Daemon.Metrics;

/// <summary>
/// The standard Prometheus process metrics, read from /proc at scrape time into stack buffers (no Process object, no
/// strings per field or per descriptor). A value that cannot be read is NaN/-1 and left out of the output.
/// </summary>
internal readonly record struct ProcessStats(double CpuSeconds, long ResidentBytes, long VirtualBytes, double StartTimeSeconds, long OpenFds, long MaxFds)
{
    // /proc reports times in USER_HZ, which the kernel ABI fixes at 100 on every architecture routerd ships for.
    private const double UserHz = 100;

    private static double bootTime = double.NaN; // from /proc/stat once: it never changes

    public static ProcessStats Read()
    {
        double cpu = double.NaN, start = double.NaN;
        long rss = -1, vsize = -1;
        Span<byte> buffer = stackalloc byte[1024];
        int n = ReadFile("/proc/self/stat", buffer);
        // The command name in parentheses may hold spaces: fields are counted from the last ')'.
        int close = buffer[..Math.Max(n, 0)].LastIndexOf((byte)')');
        if (close > 0 && close + 2 < n)
        {
            var fields = buffer[(close + 2)..n];
            // Field 3 (state) is index 0 here: utime 14, stime 15, starttime 22, vsize 23, rss 24.
            if (Field(fields, 11, out long utime) && Field(fields, 12, out long stime))
                cpu = (utime + stime) / UserHz;
            if (Field(fields, 19, out long startTicks) && BootTime() is var boot && !double.IsNaN(boot))
                start = boot + startTicks / UserHz;
            if (Field(fields, 20, out long v))
                vsize = v;
            if (Field(fields, 21, out long pages))
                rss = pages * Environment.SystemPageSize;
        }
        return new ProcessStats(cpu, rss, vsize, start, OpenFdCount(), MaxOpenFiles());
    }

    private static long OpenFdCount()
    {
        try
        {
            long count = 0;
            // A transform that returns a byte: no string per entry. The enumerator's own descriptor is counted too,
            // as client_golang's is.
            foreach (byte _ in new FileSystemEnumerable<byte>("/proc/self/fd", static (ref FileSystemEntry _) => 0))
                count++;
            return count;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    private static long MaxOpenFiles()
    {
        Span<byte> buffer = stackalloc byte[4096];
        int n = ReadFile("/proc/self/limits", buffer);
        if (n <= 0)
            return -1;
        var text = buffer[..n];
        int at = text.IndexOf("Max open files"u8);
        if (at < 0)
            return -1;
        var rest = text[(at + "Max open files".Length)..].TrimStart((byte)' ');
        return Utf8Parser.TryParse(rest, out long soft, out _) ? soft : -1; // "unlimited" does not parse: left out
    }

    private static double BootTime()
    {
        if (!double.IsNaN(bootTime))
            return bootTime;
        try
        {
            foreach (var line in File.ReadLines("/proc/stat"))
            {
                if (line.StartsWith("btime ", StringComparison.Ordinal) && long.TryParse(line.AsSpan(6), out long b))
                    return bootTime = b;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return double.NaN;
    }

    /// <summary>Field <paramref name="index"/> (0-based, space-separated) of <paramref name="fields"/> as a number.</summary>
    private static bool Field(ReadOnlySpan<byte> fields, int index, out long value)
    {
        value = 0;
        for (int i = 0; i < index; i++)
        {
            int space = fields.IndexOf((byte)' ');
            if (space < 0)
                return false;
            fields = fields[(space + 1)..];
        }
        return Utf8Parser.TryParse(fields, out value, out _);
    }

    private static int ReadFile(string path, Span<byte> buffer)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            int total = 0, n;
            // /proc files have no size: read until end or the buffer is full.
            while (total < buffer.Length && (n = RandomAccess.Read(handle, buffer[total..], total)) > 0)
                total += n;
            return total;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
