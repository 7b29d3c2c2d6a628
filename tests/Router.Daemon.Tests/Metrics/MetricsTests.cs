using System.Net;
using System.Net.Sockets;
using System.Text;
using Router.Daemon.Config;
using Router.Daemon.Metrics;

namespace Router.Daemon.Tests.Metrics;

public sealed class MetricsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static MetricsSnapshot Snapshot() => new(
    [
        new InterfaceMetrics("wg0",
        [
            new PeerMetrics("hq", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", 1234, 5678, Now.AddSeconds(-42)),
            new PeerMetrics("odd\"name", "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=", 0, 0, null),
        ],
        new Dictionary<string, long> { ["replay"] = 3, ["bad_mac"] = 1, ["AllowedIpsMismatch"] = 2 }),
    ]);

    [Fact]
    public void DropReasonsAreSnakeCaseLabels()
    {
        string text = PrometheusWriter.Format(Snapshot(), Now);
        Assert.Contains("router_packets_dropped_total{interface=\"wg0\",reason=\"allowed_ips_mismatch\"} 2\n", text);
        Assert.Equal("bad_mac1", MetricLabels.Snake("BadMac1"));
        Assert.Equal("udp_receive", MetricLabels.Snake("UdpReceive"));
        Assert.Equal("no_response", MetricLabels.Snake("no_response"));
    }

    [Fact]
    public void TextFormatHasHelpTypeAndOneSamplePerPeer()
    {
        string text = PrometheusWriter.Format(Snapshot(), Now);
        Assert.Contains("# TYPE router_peer_receive_bytes_total counter\n", text);
        Assert.Contains("router_peer_receive_bytes_total{interface=\"wg0\",peer=\"hq\",public_key=\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 1234\n", text);
        Assert.Contains("router_peer_transmit_bytes_total{interface=\"wg0\",peer=\"hq\",public_key=\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 5678\n", text);
        Assert.Contains("router_peer_handshake_age_seconds{interface=\"wg0\",peer=\"hq\",public_key=\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"} 42\n", text);
        Assert.Contains($"router_peer_last_handshake_timestamp_seconds{{interface=\"wg0\",peer=\"hq\",public_key=\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\"}} {Now.ToUnixTimeSeconds() - 42}\n", text);
        Assert.Contains("peer=\"odd\\\"name\"", text);
        Assert.DoesNotContain("router_peer_handshake_age_seconds{interface=\"wg0\",peer=\"odd", text);
        Assert.Contains("router_packets_dropped_total{interface=\"wg0\",reason=\"bad_mac\"} 1\n", text);
        Assert.Contains("router_packets_dropped_total{interface=\"wg0\",reason=\"replay\"} 3\n", text);
        Assert.EndsWith("\n", text);
    }

    [Fact]
    public async Task ServerAnswersAScrapeOnLoopback()
    {
        var config = new MetricsConfig(true, "127.0.0.1:0", new IPEndPoint(IPAddress.Loopback, 0), null);
        await using var server = MetricsServer.Start(config, Snapshot);
        string response = await Scrape(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), server.LocalEndPoint, "/metrics");
        Assert.StartsWith("HTTP/1.0 200 OK\r\n", response);
        Assert.Contains("Content-Type: text/plain; version=0.0.4", response);
        Assert.Contains("router_peer_receive_bytes_total{interface=\"wg0\",peer=\"hq\"", response);

        string missing = await Scrape(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp), server.LocalEndPoint, "/other");
        Assert.StartsWith("HTTP/1.0 404", missing);
    }

    [Fact]
    public async Task ServerAnswersOnAUnixSocket()
    {
        using var dir = new TempDirectory();
        string path = dir.File("metrics.sock");
        await using (var server = MetricsServer.Start(new MetricsConfig(true, "unix:" + path, null, path), Snapshot))
        {
            string response = await Scrape(new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified), new UnixDomainSocketEndPoint(path), "/metrics");
            Assert.StartsWith("HTTP/1.0 200 OK\r\n", response);
        }
        Assert.False(File.Exists(path));
    }

    private static async Task<string> Scrape(Socket socket, EndPoint endpoint, string target)
    {
        using (socket)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(endpoint, timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"), SocketFlags.None, timeout.Token);
            var received = new MemoryStream();
            byte[] buffer = new byte[4096];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
                received.Write(buffer, 0, n);
            return Encoding.UTF8.GetString(received.ToArray());
        }
    }
}
