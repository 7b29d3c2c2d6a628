using System.Text.Json;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>iperf3 through a tunnel, with the bytes the receiver got checked against the bytes the sender sent.</summary>
internal static class Iperf
{
    /// <summary>Result of one transfer: bytes sent, bytes received, receiver throughput.</summary>
    public readonly record struct Transfer(long SentBytes, long ReceivedBytes, double BitsPerSecond);

    /// <summary>
    /// Moves <paramref name="bytes"/> from <paramref name="client"/> to a server in <paramref name="server"/>
    /// (TCP, or UDP at <paramref name="udpRate"/>), bounded by a 60 s timeout.
    /// </summary>
    public static Transfer Run(Netns client, Netns server, string serverAddress, long bytes, bool udp = false, string udpRate = "200M", int udpLength = 1200)
    {
        int port = 5201 + Random.Shared.Next(1000);
        using var srv = server.Start("iperf3", $"-s -1 -p {port} -J");
        Thread.Sleep(300);
        string args = $"-c {serverAddress} -p {port} -n {bytes} -J --connect-timeout 5000";
        if (udp)
            args += $" -u -b {udpRate} -l {udpLength}";
        string json = Sh.Run("ip", $"netns exec {client.Name} timeout 60 iperf3 {args}", timeoutMs: 70_000);
        if (!srv.WaitForExit(10_000))
            srv.Kill();
        using var doc = JsonDocument.Parse(json);
        var end = doc.RootElement.GetProperty("end");
        if (udp)
        {
            var sum = end.GetProperty("sum");
            long sent = sum.GetProperty("bytes").GetInt64();
            long lost = sum.GetProperty("lost_packets").GetInt64();
            long received = sent - lost * udpLength;
            return new Transfer(sent, received, sum.GetProperty("bits_per_second").GetDouble());
        }
        var s = end.GetProperty("sum_sent");
        var r = end.GetProperty("sum_received");
        return new Transfer(s.GetProperty("bytes").GetInt64(), r.GetProperty("bytes").GetInt64(), r.GetProperty("bits_per_second").GetDouble());
    }
}
