using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Router.Tunnel.IO;

namespace Router.Linux.Tests;

/// <summary>
/// UDP GSO on send and GRO on receive, against the real kernel: what leaves a <see cref="UdpBind"/> is checked by
/// plain sockets that see one datagram per receive, and what a bind receives comes from plain sockets (one with
/// the UDP_SEGMENT socket option, so the kernel itself builds the super-datagrams GRO hands over).
/// </summary>
public sealed partial class UdpOffloadTests
{
    private const int SolUdp = 17, UdpSegment = 103;

    /// <summary>A datagram whose bytes depend on <paramref name="id"/> everywhere, so any mix-up shows.</summary>
    private static byte[] Content(int id, int size)
    {
        var bytes = new byte[size];
        new Random(id).NextBytes(bytes);
        if (size >= 8)
        {
            BitConverter.TryWriteBytes(bytes, 4u); // a transport message's type: the data socket's, where GRO is on
            BitConverter.TryWriteBytes(bytes.AsSpan(4), id);
        }
        return bytes;
    }

    private static PacketBuffer Datagram(Endpoint to, byte[] content)
    {
        var p = new PacketBuffer(4096) { Endpoint = to, Length = content.Length };
        content.CopyTo(p.Payload);
        return p;
    }

    private static Endpoint At(string address, int port) => Endpoint.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(address), port));

    private static Socket Listen(string address)
    {
        var ip = IPAddress.Parse(address);
        var socket = new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 3000, ReceiveBufferSize = 8 << 20 };
        socket.Bind(new IPEndPoint(ip, 0));
        return socket;
    }

    private static int PortOf(Socket s) => ((IPEndPoint)s.LocalEndPoint!).Port;

    /// <summary>Every datagram waiting on <paramref name="socket"/> (stops at the first 300 ms of silence).</summary>
    private static List<byte[]> Drain(Socket socket, int expected)
    {
        var got = new List<byte[]>();
        var buffer = new byte[70000];
        socket.ReceiveTimeout = 3000;
        while (got.Count < expected + 10)
        {
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException)
            {
                break;
            }
            got.Add(buffer[..n]);
            socket.ReceiveTimeout = 300; // after the expected ones, a short wait shows there are no extras
        }
        return got;
    }

    private static void AssertSameDatagrams(IReadOnlyList<byte[]> expected, IReadOnlyList<byte[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"datagram {i}: {actual[i].Length} bytes, expected {expected[i].Length}");
    }

    [RootFact]
    public void Equal_datagrams_and_a_short_tail_leave_as_one_gso_send_and_arrive_as_separate_datagrams()
    {
        using var ns = Netns.Create("gso");
        ns.Run(() =>
        {
            using UdpBind bind = UdpBind.Open(0, offload: true);
            Assert.True(bind.GsoIPv4 && bind.GsoIPv6, "this kernel (6.18) has UDP_SEGMENT");
            using Socket r4 = Listen("127.0.0.1"), r6 = Listen("::1");
            var to4 = Enumerable.Range(0, 10).Select(i => Content(i, 1200)).Append(Content(10, 333)).ToList();
            var to6 = Enumerable.Range(100, 10).Select(i => Content(i, 1200)).Append(Content(110, 333)).ToList();
            // Interleaved families: each family's datagrams are still consecutive runs to one endpoint.
            var batch = new List<PacketBuffer>();
            for (int i = 0; i < 11; i++)
            {
                batch.Add(Datagram(At("127.0.0.1", PortOf(r4)), to4[i]));
                batch.Add(Datagram(At("::1", PortOf(r6)), to6[i]));
            }
            var sent = new bool[batch.Count];
            Assert.Equal(22, bind.Send(batch.ToArray(), sent));
            Assert.All(sent, Assert.True);
            Assert.Equal(2, bind.SegmentedSends); // one message per family
            Assert.Equal(0, bind.SendErrors);
            AssertSameDatagrams(to4, Drain(r4, 11));
            AssertSameDatagrams(to6, Drain(r6, 11));
            return 0;
        });
    }

    [RootFact]
    public void A_gso_send_holds_at_most_64_segments_and_one_udp_payload()
    {
        using var ns = Netns.Create("gsocap");
        ns.Run(() =>
        {
            using UdpBind bind = UdpBind.Open(0, offload: true);
            using Socket receiver = Listen("127.0.0.1");
            Endpoint to = At("127.0.0.1", PortOf(receiver));

            // 150 small ones: 64 + 64 + 22.
            var small = Enumerable.Range(0, 150).Select(i => Content(i, 100)).ToList();
            Assert.Equal(150, bind.Send(small.Select(c => Datagram(to, c)).ToArray()));
            Assert.Equal(3, bind.SegmentedSends);
            AssertSameDatagrams(small, Drain(receiver, 150));

            // 100 of 1400 bytes: at most 46 fit one IPv4 UDP payload (65507 bytes): 46 + 46 + 8.
            var large = Enumerable.Range(1000, 100).Select(i => Content(i, 1400)).ToList();
            Assert.Equal(100, bind.Send(large.Select(c => Datagram(to, c)).ToArray()));
            Assert.Equal(6, bind.SegmentedSends);
            Assert.Equal(0, bind.SendErrors);
            AssertSameDatagrams(large, Drain(receiver, 100));
            return 0;
        });
    }

    [RootFact]
    public void A_batch_to_mixed_endpoints_splits_into_runs_and_every_destination_gets_its_bytes_in_order()
    {
        using var ns = Netns.Create("gsomix");
        ns.Run(() =>
        {
            using UdpBind bind = UdpBind.Open(0, offload: true);
            using Socket p = Listen("127.0.0.1"), q = Listen("127.0.0.1"), v6 = Listen("::1");
            Endpoint toP = At("127.0.0.1", PortOf(p)), toQ = At("127.0.0.1", PortOf(q)), toV6 = At("::1", PortOf(v6));
            // The same destination with a sticky source is another endpoint: it must not share a message.
            Endpoint toPSticky = new(toP.Address, toP.Port, At("127.0.0.1", 1).Address, 1);
            int id = 0;
            var plan = new List<(Endpoint To, byte[] Content)>();
            void Add(Endpoint to, int count, int size)
            {
                for (int i = 0; i < count; i++)
                    plan.Add((to, Content(id++, size)));
            }
            Add(toP, 5, 1000);       // message 1: 5 segments
            Add(toQ, 3, 1000);       // message 2: 3 segments
            Add(toP, 1, 1000);       // message 3: 1000 + tail 500
            Add(toP, 1, 500);
            Add(toP, 1, 1000);       // message 4: nothing may follow a short tail
            Add(toP, 1, 1200);       // message 5: larger than the segment size
            Add(toPSticky, 2, 1200); // message 6: another source
            Add(toV6, 4, 900);       // message 7: the IPv6 run
            Add(toQ, 1, 1000);       // message 8: single
            var sent = new bool[plan.Count];
            Assert.Equal(plan.Count, bind.Send(plan.Select(x => Datagram(x.To, x.Content)).ToArray(), sent));
            Assert.All(sent, Assert.True);
            Assert.Equal(5, bind.SegmentedSends); // messages 1, 2, 3, 6 and 7 carried more than one datagram
            Assert.Equal(0, bind.SendErrors);
            AssertSameDatagrams(plan.Where(x => x.To.Address == toP.Address && x.To.Port == toP.Port).Select(x => x.Content).ToList(), Drain(p, 11));
            AssertSameDatagrams(plan.Where(x => x.To == toQ).Select(x => x.Content).ToList(), Drain(q, 4));
            AssertSameDatagrams(plan.Where(x => x.To == toV6).Select(x => x.Content).ToList(), Drain(v6, 4));
            return 0;
        });
    }

    [RootFact]
    public void Gro_hands_over_coalesced_datagrams_split_back_one_per_buffer_with_exact_bytes()
    {
        using var ns = Netns.Create("gro");
        ns.Run(() =>
        {
            using UdpBind bind = UdpBind.Open(0, offload: true);
            Assert.True(bind.GroIPv4 && bind.GroIPv6);
            var expected4 = new List<byte[]>();
            var expected6 = new List<byte[]>();
            int id = 0;
            foreach (string address in new[] { "127.0.0.1", "::1" })
            {
                List<byte[]> expected = address == "::1" ? expected6 : expected4;
                var ip = IPAddress.Parse(address);
                using var sender = new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                sender.Bind(new IPEndPoint(ip, 0));
                var to = new IPEndPoint(ip, bind.Port);
                // The sender's kernel cuts each send into 1000-byte datagrams (socket-wide UDP_SEGMENT); a GRO
                // socket receives each such train whole. Plain single datagrams are mixed in between.
                sender.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(1000));
                for (int send = 0; send < 20; send++)
                {
                    int segments = send % 3 == 2 ? 1 : 64 - send;
                    int tail = send % 4 == 1 ? 321 : 1000;
                    var train = new byte[(segments - 1) * 1000 + tail];
                    for (int s = 0; s < segments; s++)
                    {
                        byte[] content = Content(id++, s == segments - 1 ? tail : 1000);
                        content.CopyTo(train, s * 1000);
                        expected.Add(content);
                    }
                    sender.SendTo(train, to);
                }
            }

            // Few buffers per call: a coalesced datagram's remaining segments have to wait for the next calls.
            var buffers = Enumerable.Range(0, 7).Select(_ => new PacketBuffer(2048)).ToArray();
            // Order holds per socket (family); the two sockets may interleave.
            var got4 = new List<byte[]>();
            var got6 = new List<byte[]>();
            using var timer = new Timer(_ => bind.Dispose(), null, 10_000, Timeout.Infinite);
            while (got4.Count + got6.Count < expected4.Count + expected6.Count)
            {
                int n = bind.Receive(buffers);
                if (n == 0)
                    break;
                for (int i = 0; i < n; i++)
                {
                    Assert.Equal(PacketBuffer.Headroom, buffers[i].Offset);
                    Endpoint from = buffers[i].Endpoint;
                    Assert.True(from.Port != 0 && from.LocalAddress != UInt128.Zero && from.LocalInterface > 0);
                    (from.IsIPv4 ? got4 : got6).Add(buffers[i].Payload.ToArray());
                }
            }
            AssertSameDatagrams(expected4, got4);
            AssertSameDatagrams(expected6, got6);
            Assert.True(bind.CoalescedReceives >= 20, $"{bind.CoalescedReceives} coalesced receives");
            Assert.Equal(0, bind.Truncated);
            Assert.Equal(0, bind.ReceiveErrors);
            return 0;
        });
    }

    [RootFact]
    public void Gso_between_two_binds_arrives_coalesced_and_splits_back_exactly()
    {
        using var ns = Netns.Create("gsogro");
        ns.Run(() =>
        {
            using UdpBind a = UdpBind.Open(0, offload: true), b = UdpBind.Open(0, offload: true);
            var contents = Enumerable.Range(0, 300).Select(i => Content(i, i == 299 ? 77 : 1400)).ToList();
            Assert.Equal(300, a.Send(contents.Select(c => Datagram(At("127.0.0.1", b.Port), c)).ToArray()));
            var buffers = Enumerable.Range(0, b.BatchSize).Select(_ => new PacketBuffer()).ToArray();
            var got = new List<byte[]>();
            using var timer = new Timer(_ => b.Dispose(), null, 10_000, Timeout.Infinite);
            while (got.Count < contents.Count)
            {
                int n = b.Receive(buffers);
                if (n == 0)
                    break;
                for (int i = 0; i < n; i++)
                {
                    Assert.Equal(a.Port, buffers[i].Endpoint.Port);
                    got.Add(buffers[i].Payload.ToArray());
                }
            }
            AssertSameDatagrams(contents, got);
            Assert.True(b.CoalescedReceives > 0);
            return 0;
        });
    }

    /// <summary>Two namespaces on a veth pair whose route from A to B has MTU 1300: below a 1400-byte segment.</summary>
    private static (Netns A, Netns B) SmallMtuPair(string tag)
    {
        var a = Netns.Create(tag + "a");
        var b = Netns.Create(tag + "b");
        try
        {
            string va = "rga" + Random.Shared.Next(1000, 9999), vb = "rgb" + Random.Shared.Next(1000, 9999);
            a.Ip($"link add {va} type veth peer name {vb} netns {b.Name}");
            a.Ip($"addr add 10.95.0.1/24 dev {va}");
            a.Ip($"addr add fd95::1/64 dev {va} nodad");
            b.Ip($"addr add 10.95.0.2/24 dev {vb}");
            b.Ip($"addr add fd95::2/64 dev {vb} nodad");
            a.Ip($"link set {va} up");
            b.Ip($"link set {vb} up");
            a.Ip($"route add 10.95.0.2/32 dev {va} mtu 1300");
            a.Ip($"-6 route add fd95::2/128 dev {va} mtu 1300");
            a.Resolve("10.95.0.2");
            a.Resolve("fd95::2");
            return (a, b);
        }
        catch
        {
            a.Dispose();
            b.Dispose();
            throw;
        }
    }

    [RootFact]
    public void A_segment_larger_than_the_route_mtu_fails_with_emsgsize_and_every_datagram_still_arrives()
    {
        var (nsA, nsB) = SmallMtuPair("msz");
        using (nsA)
        using (nsB)
        {
            using Socket r4 = nsB.Run(() => Listen("10.95.0.2")), r6 = nsB.Run(() => Listen("fd95::2"));
            foreach (bool offload in new[] { true, false })
            {
                using UdpBind bind = nsA.Run(() => UdpBind.Open(0, offload: offload));
                var to4 = Enumerable.Range(0, 20).Select(i => Content(i, 1400)).Append(Content(20, 700)).ToList();
                var to6 = Enumerable.Range(50, 20).Select(i => Content(i, 1400)).ToList();
                var batch = to4.Select(c => Datagram(At("10.95.0.2", PortOf(r4)), c))
                    .Concat(to6.Select(c => Datagram(At("fd95::2", PortOf(r6)), c))).ToArray();
                var sent = new bool[batch.Length];
                Assert.Equal(batch.Length, bind.Send(batch, sent));
                Assert.All(sent, Assert.True);
                Assert.True(bind.SendErrors == 0, $"offload {offload}: {bind.SendErrors} errors, errno {bind.LastSendErrno}");
                // With GSO the kernel refused each family's message (EMSGSIZE); GSO stays on: it is the route, not the socket.
                Assert.Equal(offload ? 2 : 0, bind.SegmentFallbacks);
                Assert.Equal(0, bind.SegmentedSends);
                Assert.Equal(offload, bind.GsoIPv4);
                // Sent one by one they are fragmented and reassembled, as any plain 1400-byte datagram would be.
                AssertSameDatagrams(to4, Drain(r4, to4.Count));
                AssertSameDatagrams(to6, Drain(r6, to6.Count));
            }
        }
    }

    [RootFact]
    public void A_refused_gso_send_whose_datagrams_also_fail_counts_each_one()
    {
        using var ns = Netns.Create("gsofail"); // only loopback: 10.93.0.7 has no route
        ns.Run(() =>
        {
            using UdpBind bind = UdpBind.Open(0, offload: true);
            using Socket receiver = Listen("127.0.0.1");
            var good = Enumerable.Range(0, 4).Select(i => Content(i, 1000)).ToList();
            var batch = good.Take(2).Select(c => Datagram(At("127.0.0.1", PortOf(receiver)), c))
                .Concat(Enumerable.Range(10, 5).Select(i => Datagram(At("10.93.0.7", 9), Content(i, 1000))))
                .Concat(good.Skip(2).Select(c => Datagram(At("127.0.0.1", PortOf(receiver)), c))).ToArray();
            var sent = new bool[batch.Length];
            Assert.Equal(4, bind.Send(batch, sent));
            Assert.Equal(new[] { true, true, false, false, false, false, false, true, true }, sent);
            Assert.Equal(5, bind.SendErrors);        // one per datagram, as without GSO
            Assert.Equal(101, bind.LastSendErrno);   // ENETUNREACH
            Assert.Equal(1, bind.SegmentFallbacks);
            Assert.True(bind.GsoIPv4);
            AssertSameDatagrams(good, Drain(receiver, 4));
            return 0;
        });
    }

    [RootFact]
    public void An_eio_from_a_gso_send_resends_the_datagrams_singly_and_turns_gso_off()
    {
        // No kernel configuration here yields EIO for UDP_SEGMENT (IPsec and UDP-Lite are not built in), so a
        // seccomp filter on the sending thread answers every one-message sendmmsg with EIO: the GSO send of one
        // run is one message, its single-datagram resend is many, and later plain sends are many too.
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return; // the filter matches x86-64 syscall numbers
        using var ns = Netns.Create("gsoeio");
        ns.Run(() =>
        {
            using UdpBind bind = UdpBind.Open(0, offload: true);
            using Socket receiver = Listen("127.0.0.1");
            Endpoint to = At("127.0.0.1", PortOf(receiver));
            var first = Enumerable.Range(0, 20).Select(i => Content(i, 1000)).ToList();
            var second = Enumerable.Range(100, 20).Select(i => Content(i, 1000)).ToList();
            FailSingleMessageSendmmsgWithEio();

            var sent = new bool[20];
            Assert.Equal(20, bind.Send(first.Select(c => Datagram(to, c)).ToArray(), sent));
            Assert.All(sent, Assert.True);
            Assert.Equal(1, bind.SegmentFallbacks);
            Assert.False(bind.GsoIPv4);
            Assert.True(bind.GsoIPv6); // per socket

            Assert.Equal(20, bind.Send(second.Select(c => Datagram(to, c)).ToArray()));
            Assert.Equal(1, bind.SegmentFallbacks);
            Assert.Equal(0, bind.SegmentedSends);
            Assert.Equal(0, bind.SendErrors);
            AssertSameDatagrams(first.Concat(second).ToList(), Drain(receiver, 40));
            return 0;
        });
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFilter(ushort code, byte jt, byte jf, uint k)
    {
        public ushort Code = code;
        public byte Jt = jt, Jf = jf;
        public uint K = k;
    }

    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct SockFprog
    {
        public ushort Length;
        public SockFilter* Filter;
    }

    /// <summary>Installs a seccomp filter on the calling thread only (dies with it): sendmmsg(vlen == 1) fails with EIO.</summary>
    private static unsafe void FailSingleMessageSendmmsgWithEio()
    {
        const ushort Load = 0x20, JumpIfEqual = 0x15, Return = 0x06;
        const uint ArchX8664 = 0xC000003E, Sendmmsg = 307, ErrnoEio = 0x00050000 | 5, Allow = 0x7FFF0000;
        SockFilter* program = stackalloc SockFilter[]
        {
            new(Load, 0, 0, 4),                 // seccomp_data.arch
            new(JumpIfEqual, 0, 5, ArchX8664),
            new(Load, 0, 0, 0),                 // seccomp_data.nr
            new(JumpIfEqual, 0, 3, Sendmmsg),
            new(Load, 0, 0, 16 + 2 * 8),        // seccomp_data.args[2] (vlen), low half on little-endian
            new(JumpIfEqual, 0, 1, 1),
            new(Return, 0, 0, ErrnoEio),
            new(Return, 0, 0, Allow),
        };
        var fprog = new SockFprog { Length = 8, Filter = program };
        Assert.Equal(0, Prctl(38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0));
        Assert.Equal(0L, Syscall(317 /* seccomp */, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &fprog));
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long Syscall(long number, long operation, long flags, void* args);
}
