using System.Text.Json;
using System.Text.RegularExpressions;
using Router.Daemon.Metrics;
using Router.Tunnel;
using Xunit.Abstractions;

namespace Router.Daemon.Tests.Metrics;

/// <summary>
/// The metrics alerts are built on (issue 16): the up rule, handshake counters by cause, the configuration gauges,
/// process metrics from /proc, drop reasons documented, and contrib/'s dashboard and rules naming only real metrics.
/// </summary>
public sealed partial class AlertingMetricsTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private const string Key = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

    private static MetricsSnapshot Full(ConfigMetrics? config = null) => new(
    [
        new InterfaceMetrics("wg0",
        [
            new PeerMetrics("fresh", Key, 10, 20, Now.AddSeconds(-179), new HandshakeCounts(7, 3, 4, 0, 0)),
            new PeerMetrics("stale", Key, 10, 20, Now.AddSeconds(-180)),
            new PeerMetrics("never", Key, 0, 0, null, new HandshakeCounts(12, 0, 11, 5, 6),
                new Dictionary<string, long> { ["AllowedIpsMismatch"] = 4 }),
        ],
        new Dictionary<string, long> { ["BadMac1"] = 9 }),
    ], config ?? new ConfigMetrics(true, true, Now.AddSeconds(-60), true));

    private static string Labels(string peer) => $"interface=\"wg0\",peer=\"{peer}\",public_key=\"{Key}\"";

    [Fact]
    public void UpMeansAHandshakeWithinRejectAfterTime()
    {
        string text = PrometheusWriter.Format(Full(), Now);
        Assert.Contains($"router_peer_up{{{Labels("fresh")}}} 1\n", text);
        Assert.Contains($"router_peer_up{{{Labels("stale")}}} 0\n", text);
        Assert.Contains($"router_peer_up{{{Labels("never")}}} 0\n", text);
        // Never connected: no age sample, last handshake 0.
        Assert.DoesNotContain($"router_peer_handshake_age_seconds{{{Labels("never")}}}", text);
        Assert.Contains($"router_peer_last_handshake_timestamp_seconds{{{Labels("never")}}} 0\n", text);
        Assert.Contains($"router_peer_handshake_age_seconds{{{Labels("stale")}}} 180\n", text);
    }

    [Fact]
    public void HandshakeCountersByCause()
    {
        string text = PrometheusWriter.Format(Full(), Now);
        Assert.Contains("# TYPE router_peer_handshakes_failed_total counter\n", text);
        Assert.Contains($"router_peer_handshake_initiations_total{{{Labels("never")}}} 12\n", text);
        Assert.Contains($"router_peer_handshakes_completed_total{{{Labels("fresh")}}} 3\n", text);
        Assert.Contains($"router_peer_handshakes_failed_total{{{Labels("never")},cause=\"no_response\"}} 11\n", text);
        Assert.Contains($"router_peer_handshakes_failed_total{{{Labels("never")},cause=\"bad_mac1\"}} 5\n", text);
        Assert.Contains($"router_peer_handshakes_failed_total{{{Labels("never")},cause=\"unknown_key\"}} 6\n", text);
        Assert.Contains($"router_peer_packets_dropped_total{{{Labels("never")},reason=\"allowed_ips_mismatch\"}} 4\n", text);
        Assert.DoesNotContain($"router_peer_packets_dropped_total{{{Labels("fresh")}", text); // nothing dropped: no series
        // Every cause has a sample for every peer, 0 included: rate() and increase() need the series to exist.
        Assert.Contains($"router_peer_handshakes_failed_total{{{Labels("stale")},cause=\"unknown_key\"}} 0\n", text);
    }

    [Fact]
    public void ConfigurationGauges()
    {
        string ok = PrometheusWriter.Format(Full(), Now);
        Assert.Contains("router_config_valid 1\n", ok);
        Assert.Contains("router_config_running 1\n", ok);
        Assert.Contains("router_config_last_apply_success 1\n", ok);
        Assert.Contains($"router_config_last_apply_timestamp_seconds {Now.ToUnixTimeSeconds() - 60}\n", ok);

        string refused = PrometheusWriter.Format(Full(new ConfigMetrics(false, true, Now, false)), Now);
        Assert.Contains("router_config_valid 0\n", refused);
        Assert.Contains("router_config_last_apply_success 0\n", refused);

        string waiting = PrometheusWriter.Format(Full(new ConfigMetrics(false, false, null, false)), Now);
        Assert.Contains("router_config_running 0\n", waiting);
        Assert.DoesNotContain("router_config_last_apply", waiting); // nothing applied yet
    }

    [Fact]
    public void BuildInfoAndProcessMetricsFromProc()
    {
        string text = PrometheusWriter.Format(Full(), Now, ProcessStats.Read(), "1.2.3");
        Assert.Contains("router_build_info{version=\"1.2.3\",dotnet=\"", text);
        double rss = Value(text, "process_resident_memory_bytes");
        long vmRss = long.Parse(Regex.Match(File.ReadAllText("/proc/self/status"), @"VmRSS:\s+(\d+)").Groups[1].Value) * 1024;
        output.WriteLine($"process_resident_memory_bytes {rss}, VmRSS {vmRss}");
        Assert.InRange(rss, vmRss / 2.0, vmRss * 2.0);
        Assert.True(Value(text, "process_cpu_seconds_total") > 0);
        double start = Value(text, "process_start_time_seconds");
        double now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        output.WriteLine($"process_start_time_seconds {start} ({now - start:0} s ago)");
        Assert.InRange(start, now - 3600, now + 2);
        double fds = Value(text, "process_open_fds");
        int listed = Directory.GetFileSystemEntries("/proc/self/fd").Length;
        output.WriteLine($"process_open_fds {fds}, listed {listed}");
        Assert.InRange(fds, listed - 20, listed + 20);
        Assert.True(Value(text, "process_max_fds") >= fds);
    }

    [Fact]
    public void ReadingProcessStatsAllocatesLittle()
    {
        ProcessStats.Read(); // the boot time is read once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            ProcessStats.Read();
        long each = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        output.WriteLine($"ProcessStats.Read: {each} bytes allocated per call");
        Assert.True(each < 4096, $"{each} bytes per read"); // a Process object costs tens of KB
    }

    [Fact]
    public void RejectedTotalsOnlyGrow()
    {
        var totals = new RejectedTotals();
        totals.BeginTick();
        Assert.Equal((2L, 0L), totals.Observe("wg0", "k", 2, 0));
        totals.EndTick();
        totals.BeginTick();
        Assert.Equal((5L, 1L), totals.Observe("wg0", "k", 5, 1));
        totals.EndTick();
        totals.BeginTick();
        Assert.Equal((6L, 1L), totals.Observe("wg0", "k", 1, 1)); // the engine forgot the address and counts from 0
        totals.EndTick();
        totals.BeginTick();
        totals.EndTick(); // not fed: forgotten
        totals.BeginTick();
        Assert.Equal((1L, 0L), totals.Observe("wg0", "k", 1, 0));
    }

    [Fact]
    public void EveryDropReasonIsDocumentedWithItsLabel()
    {
        string doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "RUNNING.md"));
        var labels = Enum.GetValues<DropReason>().Select(r => MetricLabels.Snake(r.ToString())).ToList();
        Assert.Equal(labels.Count, labels.Distinct().Count());
        foreach (string label in labels)
        {
            Assert.Matches("^[a-z][a-z0-9_]*$", label);
            Assert.True(doc.Contains($"| `{label}` |", StringComparison.Ordinal), $"docs/RUNNING.md has no table row for drop reason `{label}`");
        }
        foreach (string cause in PrometheusWriter.FailureCauses)
            Assert.True(doc.Contains($"| `{cause}` |", StringComparison.Ordinal), $"docs/RUNNING.md has no table row for cause `{cause}`");
    }

    [Fact]
    public void DashboardAndRulesNameOnlyExportedMetrics()
    {
        var exported = ExportedNames(PrometheusWriter.Format(Full(), Now, ProcessStats.Read(), "1.2.3"));
        var used = ContribMetricNames();
        output.WriteLine($"contrib uses {used.Count} metric names: {string.Join(", ", used)}");
        Assert.True(used.Count >= 10, "too few names found: the parsing is broken");
        Assert.Empty(used.Except(exported));
        string doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "RUNNING.md"));
        foreach (string name in exported)
            Assert.True(doc.Contains($"`{name}`", StringComparison.Ordinal), $"docs/RUNNING.md does not list {name}");
    }

    /// <summary>The names of the metric families in a scrape (# TYPE lines).</summary>
    internal static SortedSet<string> ExportedNames(string scrape)
        => new(TypeLine().Matches(scrape).Select(m => m.Groups[1].Value), StringComparer.Ordinal);

    /// <summary>Every router_* and process_* name the dashboard's queries and the rules file use.</summary>
    internal static SortedSet<string> ContribMetricNames()
    {
        string root = RepoRoot();
        var names = new SortedSet<string>(StringComparer.Ordinal);
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "contrib", "grafana", "routerd.json")));
        var texts = new List<string>();
        Collect(dashboard.RootElement, texts);
        texts.Add(File.ReadAllText(Path.Combine(root, "contrib", "prometheus", "routerd-rules.yml")));
        foreach (string t in texts)
        {
            foreach (Match m in MetricName().Matches(t))
                names.Add(m.Value);
        }
        return names;
    }

    private static void Collect(JsonElement e, List<string> texts)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name is "expr" or "query" or "definition" && p.Value.ValueKind == JsonValueKind.String)
                    texts.Add(p.Value.GetString()!);
                else
                    Collect(p.Value, texts);
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var x in e.EnumerateArray())
                Collect(x, texts);
        }
    }

    private static double Value(string text, string name)
    {
        var m = Regex.Match(text, $"^{name} (\\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"no {name} sample");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static string RepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Router.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new DirectoryNotFoundException("repository root (Router.sln) not found above the test binaries");
    }

    [GeneratedRegex(@"^# TYPE (\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [GeneratedRegex(@"\b(?:router|process)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}
