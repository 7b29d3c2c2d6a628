using System.Security.Cryptography;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// Sends a file of random bytes through the tunnel over TCP (ncat) and checks that what arrived is byte for byte
/// what was sent, by length and SHA-256. iperf3's own byte counts are sampled at test end and miss data still in
/// flight, so they prove throughput, not integrity.
/// </summary>
internal static class StreamCheck
{
    public static void SendAndVerify(Netns client, Netns server, string serverAddress, int bytes)
    {
        string dir = Directory.CreateTempSubdirectory("router-stream-").FullName;
        try
        {
            string source = Path.Combine(dir, "sent.bin"), sink = Path.Combine(dir, "received.bin");
            var data = new byte[bytes];
            Random.Shared.NextBytes(data);
            File.WriteAllBytes(source, data);
            int port = 6000 + Random.Shared.Next(2000);
            // The listener exits when the sender closes; both are bounded by timeout(1).
            using var listener = server.Start("sh", $"-c \"timeout 90 ncat -l -p {port} --recv-only > {sink}\"");
            Assert.True(Wait.Until(() => Listening(server, port), 5000), "ncat did not start listening");
            Sh.Run("ip", $"netns exec {client.Name} sh -c \"timeout 90 ncat --send-only {serverAddress} {port} < {source}\"", timeoutMs: 100_000);
            Assert.True(listener.WaitForExit(30_000), "receiver did not finish");
            byte[] received = File.ReadAllBytes(sink);
            Assert.Equal(bytes, received.Length);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(received));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static bool Listening(Netns ns, int port)
        => ns.Exec("ss", $"-ltnH sport = :{port}").Trim().Length > 0;
}
