using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Router.Tunnel.IO;
using Xunit.Abstractions;

namespace Router.Linux.Tests;

/// <summary>The packet path allocates nothing: measured with the runtime's per-thread allocation counter.</summary>
public sealed class AllocationTests(ITestOutputHelper output)
{
    private static PacketBuffer[] Buffers(int n) => Enumerable.Range(0, n).Select(_ => new PacketBuffer()).ToArray();

    [RootFact]
    public void UdpBind_send_and_receive_allocate_nothing_per_batch_and_move_packets_fast()
    {
        using var ns = Netns.Create("alloc");
        using UdpBind sender = ns.Run(() => UdpBind.Open(0));
        using UdpBind receiver = ns.Run(() => UdpBind.Open(0));
        var v4 = Endpoint.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, receiver.Port));
        var v6 = Endpoint.FromIPEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, receiver.Port));
        var outgoing = Buffers(128);
        for (int i = 0; i < outgoing.Length; i++)
        {
            outgoing[i].Length = 1400;
            outgoing[i].Endpoint = i % 2 == 0 ? v4 : v6;
        }

        const int Batches = 400;
        long received = 0, receiveAllocated = -1;
        var receiverThread = new Thread(() =>
        {
            var incoming = Buffers(128);
            received += receiver.Receive(incoming); // warm-up outside the measurement
            long before = GC.GetAllocatedBytesForCurrentThread();
            while (true)
            {
                int n = receiver.Receive(incoming);
                if (n == 0)
                    break;
                received += n;
            }
            receiveAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        receiverThread.Start();

        sender.Send(outgoing); // warm-up
        var watch = Stopwatch.StartNew();
        long sendBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Batches; i++)
        {
            sender.Send(outgoing);
            if (i % 8 == 7)
                Thread.Sleep(1); // let the receiver keep up: loopback drops what the socket buffer cannot hold
        }
        long sendAllocated = GC.GetAllocatedBytesForCurrentThread() - sendBefore;
        double seconds = watch.Elapsed.TotalSeconds;
        Thread.Sleep(300);
        receiver.Dispose();
        Assert.True(receiverThread.Join(3000));

        output.WriteLine($"sent {Batches * 128} x 1400 B in {seconds:F2} s ({Batches * 128 / seconds:F0} datagrams/s incl. pauses); received {received}; " +
            $"send errors {sender.SendErrors}; allocated: send {sendAllocated} B, receive {receiveAllocated} B");
        Assert.Equal(0, sendAllocated);
        Assert.Equal(0, receiveAllocated);
        Assert.Equal(0, sender.SendErrors);
        Assert.True(received > Batches * 128 / 2, $"received only {received}");
    }

    [RootFact]
    public void Tun_read_and_write_allocate_nothing_per_batch()
    {
        using var ns = Netns.Create("talloc");
        using Tun tun = ns.Run(() => Tun.Create("rtal0"));
        tun.Rtnetlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.76.0.1"), 24);
        tun.SetUp(true);
        using Socket socket = ns.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Parse("10.76.0.1"), 4000));
            return s;
        });

        // Write: 64 UDP datagrams per batch into the TUN, addressed to the socket.
        var batch = Buffers(64);
        foreach (PacketBuffer p in batch)
            p.Length = Packets.WriteUdp4(p.Data.AsSpan(p.Offset), IPAddress.Parse("10.76.0.2"), 5000, IPAddress.Parse("10.76.0.1"), 4000, new byte[100]);
        tun.Write(batch);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++)
            tun.Write(batch);
        long writeAllocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Read: datagrams sent from the socket to the TUN's subnet come out of the TUN. A watchdog closes the TUN
        // (Read then returns 0) so a lost datagram fails the test instead of hanging it.
        using var watchdog = new Timer(_ => tun.Dispose(), null, 10_000, Timeout.Infinite);
        var target = new IPEndPoint(IPAddress.Parse("10.76.0.2"), 5000);
        var incoming = Buffers(64);
        byte[] payload = new byte[100];
        long readAllocated = 0;
        int ReadRound()
        {
            for (int i = 0; i < 64; i++)
                socket.SendTo(payload, target); // allocates: kept out of the measurement
            int got = 0;
            while (got < 64)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                int n = tun.Read(incoming);
                readAllocated += GC.GetAllocatedBytesForCurrentThread() - before;
                if (n == 0)
                    break;
                for (int i = 0; i < n; i++)
                    if (incoming[i].Payload[0] >> 4 == 4 && incoming[i].Payload[9] == 17)
                        got++; // not the kernel's own IPv6 chatter
            }
            return got;
        }
        int read = ReadRound(); // warm-up
        readAllocated = 0;
        for (int i = 0; i < 20; i++)
            read += ReadRound();
        Assert.Equal(21 * 64, read);
        output.WriteLine($"TUN: wrote {51 * 64} packets ({tun.WriteErrors} errors), allocated {writeAllocated} B; read {read} packets, allocated {readAllocated} B");
        Assert.Equal(0, writeAllocated);
        Assert.Equal(0, tun.WriteErrors);
        Assert.Equal(0, readAllocated);
    }
}
