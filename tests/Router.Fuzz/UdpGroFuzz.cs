using System.Net;
using System.Net.Sockets;
using CsCheck;
using Router.Linux;
using Router.Linux.Tests;
using Router.Tunnel.IO;
using Xunit.Abstractions;

namespace Router.Fuzz;

/// <summary>
/// GRO-coalesced UDP as the kernel hands it to routerd's socket: a sender with UDP_SEGMENT (the kernel builds the
/// super-datagram, loopback keeps it whole, the GRO socket receives it with its gso_size) sends trains of random
/// segment sizes, counts and tails, mixed with plain datagrams, to a real <see cref="UdpBind"/> in a private network
/// namespace, which splits them through UdpGroReader into buffers of random capacity, a random number per call.
/// Properties: every segment that fits a buffer arrives whole, in order, with its bytes and source; every one that
/// does not is counted as truncated; nothing else arrives; nothing throws or hangs.
/// </summary>
public sealed class UdpGroFuzz(ITestOutputHelper output)
{
    /// <summary>
    /// Every datagram starts with the transport message type: UdpBind steers all others to a socket of their own
    /// (UdpBind.Steering.cs), and arrival order holds only within one socket.
    /// </summary>
    private const byte TransportType = 4;

    private const int SolUdp = 17, UdpSegment = 103;

    private sealed record Input(bool V6, int SegmentSize, int Segments, int Tail, int Capacity, int BuffersPerCall, bool PlainAfter);

    [RootFact]
    public void CoalescedDatagramsSplitIntoTheSentSegmentsOrAreCountedAsTruncated()
    {
        var gen = Gen.Select(Gen.Bool,
            Gen.Frequency((4, Gen.Int[1, 1500]), (1, Gen.Int[1501, 9000])),
            Gen.Frequency((3, Gen.Int[1, 64]), (1, Gen.Const(1))),
            Gen.Int[0, 1500], Gen.OneOf(64, 512, 1500, 2048, 4096, 65535), Gen.Int[1, 9], Gen.Bool,
            (v6, size, segments, tail, capacity, perCall, plain) => new Input(v6, size, segments, tail, capacity, perCall, plain));
        using var ns = Netns.Create("fz");
        ns.Run(() =>
        {
            using UdpBind bind = UdpBind.Open(0, offload: true);
            Assert.True(bind.GroIPv4 && bind.GroIPv6, "GRO is not available");
            using var sender4 = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using var sender6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            sender4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            sender6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            var buffers = new Dictionary<int, PacketBuffer[]>();
            // A guard, not a timeout of the kernel's: if an expected segment never comes, the bind closes and Receive returns 0.
            using var guard = new Timer(_ => bind.Dispose());
            long sent = 0, trains = 0, seen = 0;
            int id = 0;
            FuzzRun.Run(output, "udp-gro", gen, input =>
            {
                Socket sender = input.V6 ? sender6 : sender4;
                var to = new IPEndPoint(input.V6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, bind.Port);
                int tail = input.Segments == 1 ? Math.Max(1, Math.Min(input.Tail, input.SegmentSize)) : Math.Min(input.Tail, input.SegmentSize);
                int last = tail == 0 ? input.SegmentSize : tail;
                var expected = new List<byte[]>();
                var train = new byte[(input.Segments - 1) * input.SegmentSize + last];
                for (int s = 0; s < input.Segments; s++)
                {
                    var content = new byte[s == input.Segments - 1 ? last : input.SegmentSize];
                    new Random(++id).NextBytes(content);
                    content[0] = TransportType;
                    content.CopyTo(train, s * input.SegmentSize);
                    expected.Add(content);
                }
                sender.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(input.SegmentSize));
                try
                {
                    sender.SendTo(train, to);
                }
                catch (SocketException)
                {
                    return; // beyond what the kernel segments (EINVAL, EMSGSIZE): nothing was sent
                }
                trains++;
                // A plain datagram may follow; a small marker always does, so that whatever did not fit has been
                // reached (and counted) by the time the marker arrives, and nothing is left for the next input.
                sender.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(0));
                if (input.PlainAfter)
                {
                    var plain = new byte[1 + id % 1400];
                    new Random(++id).NextBytes(plain);
                    plain[0] = TransportType;
                    sender.SendTo(plain, to);
                    expected.Add(plain);
                }
                byte[] marker = [TransportType, .. BitConverter.GetBytes(++id)];
                sender.SendTo(marker, to);
                expected.Add(marker);
                sent += expected.Count;

                if (!buffers.TryGetValue(input.Capacity * 16 + input.BuffersPerCall, out PacketBuffer[]? batch))
                    buffers[input.Capacity * 16 + input.BuffersPerCall] = batch = Enumerable.Range(0, input.BuffersPerCall).Select(_ => new PacketBuffer(input.Capacity)).ToArray();
                int tooBig = expected.Count(e => e.Length > input.Capacity);
                long truncatedBefore = bind.Truncated;
                int next = 0;
                guard.Change(15_000, Timeout.Infinite);
                while (next < expected.Count)
                {
                    int n = bind.Receive(batch);
                    Assert.True(n > 0, $"only {next} of {expected.Count} datagrams arrived");
                    for (int i = 0; i < n; i++)
                    {
                        // What cannot fit is counted by the reader instead of handed out.
                        while (next < expected.Count && expected[next].Length > input.Capacity)
                            next++;
                        Assert.True(next < expected.Count, "more datagrams than were sent");
                        Assert.True(batch[i].Payload.SequenceEqual(expected[next]), $"datagram {next}: {batch[i].Length} bytes, expected {expected[next].Length}");
                        Assert.Equal(((IPEndPoint)sender.LocalEndPoint!).Port, batch[i].Endpoint.Port);
                        next++;
                        seen++;
                    }
                }
                guard.Change(Timeout.Infinite, Timeout.Infinite);
                Assert.Equal(tooBig, bind.Truncated - truncatedBefore);
            });
            output.WriteLine($"{trains} trains, {sent} datagrams sent, {seen} received, {bind.CoalescedReceives} coalesced receives, {bind.Truncated} truncated");
            Assert.True(bind.CoalescedReceives > 0, "no datagram arrived coalesced: GRO was not exercised");
            Assert.Equal(0, bind.ReceiveErrors);
            return 0;
        });
    }
}
