using System.Globalization;
using System.Text;

namespace Router.Daemon.Metrics;

/// <summary>
/// Formats a <see cref="MetricsSnapshot"/> in the Prometheus text exposition format (version 0.0.4): per metric a
/// # HELP and # TYPE line, then one sample per label set; label values escape backslash, double quote and newline.
/// </summary>
internal static class PrometheusWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Format(MetricsSnapshot snapshot, DateTimeOffset now)
    {
        var w = new StringBuilder();
        Family(w, "router_peer_receive_bytes_total", "counter", "Bytes received from the peer over the tunnel.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_receive_bytes_total", PeerLabels(i, p), p.ReceiveBytes);

        Family(w, "router_peer_transmit_bytes_total", "counter", "Bytes sent to the peer over the tunnel.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_transmit_bytes_total", PeerLabels(i, p), p.TransmitBytes);

        Family(w, "router_peer_last_handshake_timestamp_seconds", "gauge", "Unix time of the last completed handshake; 0 if none yet.");
        foreach (var (i, p) in Peers(snapshot))
            Sample(w, "router_peer_last_handshake_timestamp_seconds", PeerLabels(i, p), p.LastHandshake?.ToUnixTimeSeconds() ?? 0);

        // Age is what alerts want ("no handshake for 5 minutes"); a peer that never shook hands has no sample.
        Family(w, "router_peer_handshake_age_seconds", "gauge", "Seconds since the last completed handshake.");
        foreach (var (i, p) in Peers(snapshot))
        {
            if (p.LastHandshake is DateTimeOffset at)
                Sample(w, "router_peer_handshake_age_seconds", PeerLabels(i, p), Math.Max(0, (now - at).TotalSeconds));
        }

        Family(w, "router_packets_dropped_total", "counter", "Packets dropped, by interface and reason.");
        foreach (var i in snapshot.Interfaces)
        {
            foreach (var (reason, count) in i.DroppedByReason.OrderBy(r => r.Key, StringComparer.Ordinal))
                Sample(w, "router_packets_dropped_total", $"interface=\"{Escape(i.Name)}\",reason=\"{Escape(reason)}\"", count);
        }
        return w.ToString();
    }

    private static IEnumerable<(InterfaceMetrics, PeerMetrics)> Peers(MetricsSnapshot snapshot)
        => snapshot.Interfaces.SelectMany(i => i.Peers.Select(p => (i, p)));

    private static string PeerLabels(InterfaceMetrics i, PeerMetrics p)
        => $"interface=\"{Escape(i.Name)}\",peer=\"{Escape(p.Name)}\",public_key=\"{Escape(p.PublicKey)}\"";

    private static void Family(StringBuilder w, string name, string type, string help)
        => w.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder w, string name, string labels, double value)
        => w.Append(name).Append('{').Append(labels).Append("} ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    private static void Sample(StringBuilder w, string name, string labels, long value)
        => w.Append(name).Append('{').Append(labels).Append("} ").Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');

    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
