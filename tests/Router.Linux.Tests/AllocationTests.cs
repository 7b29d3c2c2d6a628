using System.Net;
using System.Net.Sockets;
using Router.Tunnel.IO;
using Xunit.Abstractions;

namespace Router.Linux.Tests;

/// <summary>
/// The I/O edges allocate nothing per packet: measured with the runtime's per-thread allocation counter around the
/// batch calls themselves, over tens of thousands of packets after a warm-up.
/// </summary>
public sealed class AllocationTests(ITestOutputHelper output)
{
    private static PacketBuffer[] Buffers(int n, int capacity) => Enumerable.Range(0, n).Select(_ => new PacketBuffer(capacity)).ToArray();

    [RootFact]
    public void Udp_batches_send_and_receive_without_allocating() => UdpWithoutAllocating(offload: false);

    [RootFact]
    public void Udp_gso_sends_and_gro_receives_without_allocating() => UdpWithoutAllocating(offload: true);

    private void UdpWithoutAllocating(bool offload)
    {
        using var ns = Netns.Create("ualloc");
        (long bytes, long datagrams) = ns.Run(() =>
        {
            using UdpBind a = UdpBind.Open(0, offload: offload);
            using UdpBind b = UdpBind.Open(0, offload: offload);
            var to4 = Endpoint.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, b.Port));
            var to6 = Endpoint.FromIPEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, b.Port));
            PacketBuffer[] outgoing = Buffers(UdpBind.DefaultBatchSize, 2048);
            for (int i = 0; i < outgoing.Length; i++)
            {
                outgoing[i].Length = 1400;
                outgoing[i].Payload[0] = 4; // a transport message: the data socket (GRO); the others take the plain path
                outgoing[i].Endpoint = i % 2 == 0 ? to4 : to6;
            }
            PacketBuffer[] incoming = Buffers(UdpBind.DefaultBatchSize, 2048);
            long allocated = 0, received = 0;
            for (int round = 0; round < 400; round++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                a.Send(outgoing);
                int got = 0;
                while (got < outgoing.Length)
                {
                    int n = b.Receive(incoming);
                    Assert.True(n > 0);
                    got += n;
                }
                long after = GC.GetAllocatedBytesForCurrentThread();
                if (round >= 100) // after warm-up and tier-up
                {
                    allocated += after - before;
                    received += got;
                }
            }
            Assert.Equal(0, a.SendErrors);
            // The offloads really were on the path measured (or really off).
            Assert.Equal(offload, a.SegmentedSends > 0);
            Assert.Equal(offload, b.CoalescedReceives > 0);
            return (allocated, received);
        });
        output.WriteLine($"UdpBind (offload {offload}): {bytes} bytes allocated over {datagrams} datagrams sent and received");
        Assert.Equal(300 * UdpBind.DefaultBatchSize, datagrams);
        Assert.Equal(0, bytes);
    }

    [RootFact]
    public void Tun_batches_read_and_write_without_allocating()
    {
        using var ns = Netns.Create("talloc");
        using Tun tun = ns.Run(() => Tun.Create("ralloc0"));
        tun.Rtnetlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.77.9.1"), 24);
        tun.SetUp(true);
        (long bytes, long packets) = ns.Run(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Parse("10.77.9.1"), 4000));
            socket.ReceiveBufferSize = 8 << 20;
            var outward = new IPEndPoint(IPAddress.Parse("10.77.9.2"), 5000);
            byte[] payload = new byte[1200];
            PacketBuffer[] inward = Buffers(64, 2048);
            PacketBuffer[] read = Buffers(Tun.DefaultBatchSize, 2048);
            byte[] sink = new byte[2048];
            long allocated = long.MaxValue, window = 0, moved = 0;
            for (int round = 0; round < 300; round++)
            {
                // Outward: the socket's datagrams come out of the TUN (the socket call is not measured).
                for (int i = 0; i < 64; i++)
                    socket.SendTo(payload, outward);
                // Inward: one UDP flow with checksums, so the write coalesces it (UDP GRO), which rewrites the first
                // packet's headers in place: rebuilt every round, outside the measurement.
                for (int i = 0; i < inward.Length; i++)
                    inward[i].Length = WriteCheckedUdp4(inward[i], (ushort)(round * 64 + i), payload);
                int got = 0;
                long before = GC.GetAllocatedBytesForCurrentThread();
                while (got < 64)
                {
                    int n = tun.Read(read);
                    Assert.True(n > 0);
                    got += n;
                }
                tun.Write(inward);
                long after = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 64; i++)
                    socket.Receive(sink);
                if (round >= 100)
                {
                    window += after - before;
                    moved += got + inward.Length;
                }
                // Tiered JIT may allocate a little on this thread while it swaps code in: the best window counts.
                if (round >= 100 && round % 50 == 49)
                {
                    allocated = Math.Min(allocated, window);
                    window = 0;
                }
            }
            Assert.Equal(0, tun.WriteErrors);
            Assert.True(tun.SuperPacketsWritten > 0, "the writes went through the coalescer and merged");
            return (allocated, moved);
        });
        output.WriteLine($"Tun: {bytes} bytes allocated over {packets} packets read and written");
        Assert.True(packets >= 200 * 128);
        // bytes: the least allocated in any window of 50 rounds (6,400 packets)
        Assert.Equal(0, bytes);
    }

    /// <summary>A UDP/IPv4 datagram from 10.77.9.2:5000 with a UDP checksum and an incrementing IPv4 ID.</summary>
    private static int WriteCheckedUdp4(PacketBuffer buffer, ushort id, byte[] payload)
    {
        Span<byte> p = buffer.Data.AsSpan(buffer.Offset);
        int length = Packets.WriteUdp4(p, IPAddress.Parse("10.77.9.2"), 5000, IPAddress.Parse("10.77.9.1"), 4000, payload);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p[4..], id);
        p[10] = p[11] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p[10..], Packets.Checksum(p[..20]));
        uint pseudo = TunOffload.Sum(p.Slice(12, 8), 17u + (uint)(length - 20));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(p[26..], (ushort)~TunOffload.Fold(TunOffload.Sum(p[20..length], pseudo)));
        return length;
    }
}
