using System.Globalization;
using System.Text;

namespace Router.Daemon.Metrics;

/// <summary>
/// Formats a <see cref="MetricsSnapshot"/> in the Prometheus text exposition format (version 0.0.4): per metric a
/// # HELP and # TYPE line, then one sample per label set; label values escape backslash, double quote and newline.
/// Every name written here is listed in docs/RUNNING.md (a test compares them with contrib/'s dashboard and rules).
/// </summary>
internal static class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>REJECT_AFTER_TIME: a peer is up while its last handshake is younger than this.</summary>
    public static readonly TimeSpan UpWithin = TimeSpan.FromSeconds(180);

    /// <summary>The causes of router_peer_handshakes_failed_total, in output order.</summary>
    public static readonly string[] FailureCauses = ["no_response", "bad_mac1", "unknown_key"];

    public static string Format(MetricsSnapshot snapshot, DateTimeOffset now, ProcessStats? process = null, string? version = null)
    {
        var w = new StringBuilder();
        Family(w, "router_peer_up", "gauge", "1 while the peer's last handshake is younger than REJECT_AFTER_TIME (180 s), else 0.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_up", PeerLabels(i, p), IsUp(p, now) ? 1 : 0);

        Family(w, "router_peer_receive_bytes_total", "counter", "Bytes received from the peer over the tunnel.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_receive_bytes_total", PeerLabels(i, p), p.ReceiveBytes);

        Family(w, "router_peer_transmit_bytes_total", "counter", "Bytes sent to the peer over the tunnel.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_transmit_bytes_total", PeerLabels(i, p), p.TransmitBytes);

        Family(w, "router_peer_last_handshake_timestamp_seconds", "gauge", "Unix time of the last completed handshake; 0 if none yet.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_last_handshake_timestamp_seconds", PeerLabels(i, p), p.LastHandshake?.ToUnixTimeSeconds() ?? 0);

        // Age is what alerts want ("no handshake for 5 minutes"); a peer that never shook hands has no sample (and up 0).
        Family(w, "router_peer_handshake_age_seconds", "gauge", "Seconds since the last completed handshake; absent if none yet.");
        foreach (var (i, p) in Peers(snapshot))
        {
            if (p.LastHandshake is DateTimeOffset at)
                Sample(w, "router_peer_handshake_age_seconds", PeerLabels(i, p), Math.Max(0, (now - at).TotalSeconds));
        }

        Family(w, "router_peer_handshake_initiations_total", "counter", "Handshake initiations sent to the peer.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_handshake_initiations_total", PeerLabels(i, p), p.Handshakes.InitiationsSent);

        Family(w, "router_peer_handshakes_completed_total", "counter", "Handshakes completed with the peer (either side initiating).");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_handshakes_completed_total", PeerLabels(i, p), p.Handshakes.Completed);

        Family(w, "router_peer_handshakes_failed_total", "counter", "Failed handshakes by cause: no_response, bad_mac1 (far side has the wrong key for us), unknown_key (our entry has the wrong key).");
        foreach (var (i, p) in Peers(snapshot))
        {
            string labels = PeerLabels(i, p);
            Sample(w, "router_peer_handshakes_failed_total", labels + ",cause=\"no_response\"", p.Handshakes.NoResponse);
            Sample(w, "router_peer_handshakes_failed_total", labels + ",cause=\"bad_mac1\"", p.Handshakes.BadMac1);
            Sample(w, "router_peer_handshakes_failed_total", labels + ",cause=\"unknown_key\"", p.Handshakes.UnknownKey);
        }

        Family(w, "router_peer_packets_dropped_total", "counter", "Packets dropped that the engine could pin on the peer, by reason; included in router_packets_dropped_total.");
        foreach (var (i, p) in Peers(snapshot))
        {
            if (p.DroppedByReason is null)
                continue;
            string labels = PeerLabels(i, p);
            foreach (var (reason, count) in p.DroppedByReason.OrderBy(r => r.Key, StringComparer.Ordinal))
                Sample(w, "router_peer_packets_dropped_total", $"{labels},reason=\"{Escape(MetricLabels.Snake(reason))}\"", count);
        }

        Family(w, "router_packets_dropped_total", "counter", "Packets dropped, by interface and reason (see docs/RUNNING.md).");
        foreach (var i in snapshot.Interfaces)
        {
            foreach (var (reason, count) in i.DroppedByReason.OrderBy(r => r.Key, StringComparer.Ordinal))
                Sample(w, "router_packets_dropped_total", $"interface=\"{Escape(i.Name)}\",reason=\"{Escape(MetricLabels.Snake(reason))}\"", count);
        }

        if (snapshot.Config is { } c)
        {
            Family(w, "router_config_valid", "gauge", "1 if the configuration file on disk passed validation at its last load, else 0.");
            Sample(w, "router_config_valid", c.FileValid ? 1 : 0);
            Family(w, "router_config_running", "gauge", "1 if a configuration is in force, 0 while waiting for a first valid file.");
            Sample(w, "router_config_running", c.Running ? 1 : 0);
            if (c.LastApplyAt is DateTimeOffset applied)
            {
                Family(w, "router_config_last_apply_success", "gauge", "1 if every part of the last applied configuration took effect, else 0.");
                Sample(w, "router_config_last_apply_success", c.LastApplySucceeded ? 1 : 0);
                Family(w, "router_config_last_apply_timestamp_seconds", "gauge", "Unix time of the last apply (start, reload, routerd apply, rollback).");
                Sample(w, "router_config_last_apply_timestamp_seconds", applied.ToUnixTimeMilliseconds() / 1000.0);
            }
        }

        if (version is not null)
        {
            Family(w, "router_build_info", "gauge", "Always 1; the labels say which routerd runs.");
            w.Append("router_build_info{version=\"").Append(Escape(version)).Append("\",dotnet=\"").Append(Environment.Version.ToString()).Append("\"} 1\n");
        }

        if (process is { } ps)
            WriteProcess(w, ps);
        return w.ToString();
    }

    /// <summary>The rule behind router_peer_up (documented in docs/RUNNING.md).</summary>
    public static bool IsUp(PeerMetrics p, DateTimeOffset now) => p.LastHandshake is { } at && now - at < UpWithin;

    private static void WriteProcess(StringBuilder w, in ProcessStats ps)
    {
        // Each only when /proc gave it (NaN or -1 otherwise): an absent series, never a made-up 0.
        if (!double.IsNaN(ps.CpuSeconds))
            Single(w, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", ps.CpuSeconds);
        if (ps.ResidentBytes >= 0)
            Single(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", ps.ResidentBytes);
        if (ps.VirtualBytes >= 0)
            Single(w, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", ps.VirtualBytes);
        if (!double.IsNaN(ps.StartTimeSeconds))
            Single(w, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", ps.StartTimeSeconds);
        if (ps.OpenFds >= 0)
            Single(w, "process_open_fds", "gauge", "Number of open file descriptors.", ps.OpenFds);
        if (ps.MaxFds >= 0)
            Single(w, "process_max_fds", "gauge", "Maximum number of open file descriptors.", ps.MaxFds);
    }

    /// <summary>A family of one unlabelled sample.</summary>
    private static void Single(StringBuilder w, string name, string type, string help, double value)
    {
        Family(w, name, type, help);
        Sample(w, name, value);
    }

    private static IEnumerable<(InterfaceMetrics, PeerMetrics)> Peers(MetricsSnapshot snapshot)
        => snapshot.Interfaces.SelectMany(i => i.Peers.Select(p => (i, p)));

    private static string PeerLabels(InterfaceMetrics i, PeerMetrics p)
        => $"interface=\"{Escape(i.Name)}\",peer=\"{Escape(p.Name)}\",public_key=\"{Escape(p.PublicKey)}\"";

    private static void Family(StringBuilder w, string name, string type, string help)
        => w.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder w, string name, string labels, double value)
        => w.Append(name).Append('{').Append(labels).Append("} ").Append(Number(value)).Append('\n');

    private static void Sample(StringBuilder w, string name, string labels, long value)
        => w.Append(name).Append('{').Append(labels).Append("} ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static void Sample(StringBuilder w, string name, double value)
        => w.Append(name).Append(' ').Append(Number(value)).Append('\n');

    private static void Sample(StringBuilder w, string name, long value)
        => w.Append(name).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
