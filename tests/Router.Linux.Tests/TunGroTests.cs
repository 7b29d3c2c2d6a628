using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Router.Tunnel.IO;

namespace Router.Linux.Tests;

/// <summary>
/// Offloads end to end between real kernel stacks: site A's TUN is read (TSO/USO super-packets split into segments)
/// and every batch is written into site B's TUN (segments coalesced back into super-packets), and back. B forwards to
/// host C over a veth whose checksum offload is off, so B's kernel must finish every checksum from the partial sum
/// the coalescer wrote, and C verifies each one. Real TCP streams and UDP datagrams cross it; the bytes received are
/// compared with the bytes sent, and the checksum error counters must stay at zero.
/// </summary>
public sealed class TunGroTests
{
    private const int Port = 7001;

    private sealed class Wire : IDisposable
    {
        public Netns A { get; } = Netns.Create("groa");
        public Netns B { get; } = Netns.Create("grob");
        public Netns C { get; } = Netns.Create("groc");
        public Tun TunA { get; } = null!;
        public Tun TunB { get; } = null!;
        private readonly Thread[] _relays;

        public Wire(bool offload)
        {
            try
            {
                TunA = A.Run(() => Tun.Create("rgro0", offload: offload));
                TunB = B.Run(() => Tun.Create("rgro1", offload: offload));
                TunA.Rtnetlink.AddAddress(TunA.InterfaceIndex, IPAddress.Parse("10.78.0.1"), 24);
                TunB.Rtnetlink.AddAddress(TunB.InterfaceIndex, IPAddress.Parse("10.78.0.2"), 24);
                TunA.SetUp(true);
                TunB.SetUp(true);
                A.Ip("addr add fd78::1/64 dev rgro0 nodad");
                B.Ip("addr add fd78::2/64 dev rgro1 nodad");
                A.Ip("route add 10.79.0.0/24 dev rgro0");
                A.Ip("-6 route add fd79::/64 dev rgro0");
                string vb = $"vgb{Environment.ProcessId % 100000}", vc = $"vgc{Environment.ProcessId % 100000}";
                Sh.Run("ip", $"link add {vb} netns {B.Name} type veth peer name {vc} netns {C.Name}");
                B.Ip($"addr add 10.79.0.1/24 dev {vb}");
                C.Ip($"addr add 10.79.0.2/24 dev {vc}");
                B.Ip($"link set {vb} up");
                C.Ip($"link set {vc} up");
                B.Ip($"addr add fd79::1/64 dev {vb} nodad");
                C.Ip($"addr add fd79::2/64 dev {vc} nodad");
                C.Ip("route add default via 10.79.0.1");
                C.Ip("-6 route add default via fd79::1");
                B.Exec("sysctl", "-qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
                // Software checksums (and segmentation) on the way to C: the partial sums are really used.
                B.Exec("ethtool", $"-K {vb} tx off");
                _relays = [Relay(TunA, TunB), Relay(TunB, TunA)];
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>Reads batches from one TUN and writes each batch into the other, until the TUN is closed.</summary>
        private static Thread Relay(Tun from, Tun to)
        {
            var thread = new Thread(() =>
            {
                PacketBuffer[] buffers = Enumerable.Range(0, Tun.DefaultBatchSize).Select(_ => new PacketBuffer(2048)).ToArray();
                int n;
                while ((n = from.Read(buffers)) > 0)
                    to.Write(buffers.AsSpan(0, n));
            }) { IsBackground = true };
            thread.Start();
            return thread;
        }

        /// <summary>A counter of /proc/net/snmp in namespace <paramref name="ns"/> (e.g. Tcp InCsumErrors).</summary>
        public static long Snmp(Netns ns, string protocol, string field)
        {
            string[] lines = ns.Exec("cat", "/proc/net/snmp").Split('\n');
            for (int i = 0; i + 1 < lines.Length; i++)
            {
                if (!lines[i].StartsWith(protocol + ":", StringComparison.Ordinal))
                    continue;
                string[] names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                string[] values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                int at = Array.IndexOf(names, field);
                if (at > 0)
                    return long.Parse(values[at]);
            }
            throw new InvalidOperationException($"{protocol} {field} not in /proc/net/snmp");
        }

        public void Dispose()
        {
            TunA?.Dispose();
            TunB?.Dispose();
            foreach (Thread t in _relays ?? [])
                t.Join(5000);
            A.Dispose();
            B.Dispose();
            C.Dispose();
        }
    }

    [RootFact]
    public void Tcp_streams_cross_two_kernels_byte_exact_with_offloads_on() => TcpStreams(offload: true);

    [RootFact]
    public void Tcp_streams_cross_two_kernels_byte_exact_with_offloads_off() => TcpStreams(offload: false);

    private static void TcpStreams(bool offload)
    {
        using var wire = new Wire(offload);
        Assert.Equal(offload, wire.TunA.Offloads != 0);
        // Three streams at once (A to C through B over IPv4 and IPv6, and C back to A), so batches hold interleaved
        // flows of both families and the ACKs of the other direction.
        const int Bytes = 16 << 20;
        byte[] ac = RandomNumberGenerator.GetBytes(Bytes), ca = RandomNumberGenerator.GetBytes(Bytes), ac6 = RandomNumberGenerator.GetBytes(Bytes);
        using Socket listenC = Listen(wire.C, "10.79.0.2");
        using Socket listenC6 = Listen(wire.C, "fd79::2");
        using Socket listenA = Listen(wire.A, "10.78.0.1");
        using Socket clientA = wire.A.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using Socket clientA6 = wire.A.Run(() => new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp));
        using Socket clientC = wire.C.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        Task<byte[]> atC = Receive(listenC), atC6 = Receive(listenC6), atA = Receive(listenA);
        Task sendA = Send(clientA, new IPEndPoint(IPAddress.Parse("10.79.0.2"), Port), ac);
        Task sendA6 = Send(clientA6, new IPEndPoint(IPAddress.Parse("fd79::2"), Port), ac6);
        Task sendC = Send(clientC, new IPEndPoint(IPAddress.Parse("10.78.0.1"), Port), ca);
        Assert.True(Task.WaitAll([sendA, sendA6, sendC, atA, atC, atC6], TimeSpan.FromSeconds(120)), "the streams did not finish in 120 s");

        Assert.Equal(SHA256.HashData(ac), atC.Result);
        Assert.Equal(SHA256.HashData(ac6), atC6.Result);
        Assert.Equal(SHA256.HashData(ca), atA.Result);
        Assert.Equal(0, Wire.Snmp(wire.A, "Tcp", "InCsumErrors"));
        Assert.Equal(0, Wire.Snmp(wire.C, "Tcp", "InCsumErrors"));
        Assert.Equal(0, wire.TunA.WriteErrors + wire.TunB.WriteErrors);
        if (offload)
        {
            Assert.True(wire.TunA.SuperPackets > 0, "the kernel handed over TSO super-packets");
            Assert.True(wire.TunB.SuperPacketsWritten > 0, "segments were coalesced into super-packets on write");
            Assert.True(wire.TunB.PacketsCoalesced > wire.TunB.SuperPacketsWritten, "more than two segments per super-packet on average");
        }
        else
        {
            Assert.Equal(0, wire.TunB.SuperPacketsWritten + wire.TunA.SuperPacketsWritten);
        }
    }

    private static Socket Listen(Netns ns, string address)
    {
        IPAddress ip = IPAddress.Parse(address);
        Socket listener = ns.Run(() => new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        listener.Bind(new IPEndPoint(ip, Port));
        listener.Listen();
        return listener;
    }

    private static async Task Send(Socket client, IPEndPoint to, byte[] data)
    {
        await client.ConnectAsync(to);
        await client.SendAsync(data);
        client.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Accepts one connection and returns the SHA-256 of everything it carried until the sender closed.</summary>
    private static async Task<byte[]> Receive(Socket listener)
    {
        using Socket s = await listener.AcceptAsync();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[256 << 10];
        int n;
        while ((n = await s.ReceiveAsync(buffer)) > 0)
            hash.AppendData(buffer, 0, n);
        return hash.GetHashAndReset();
    }

    [RootFact]
    public void Udp_gso_datagrams_cross_two_kernels_intact_with_uso_and_udp_gro()
    {
        using var wire = new Wire(offload: true);
        Assert.True((wire.TunA.Offloads & TunOffload.TunFUso4) != 0, "kernel 6.2+ accepts TUN_F_USO4");
        const int Size = 1200, PerSend = 10, Sends = 300;
        using Socket receiver = wire.C.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        receiver.SetRawSocketOption(1 /* SOL_SOCKET */, 33 /* SO_RCVBUFFORCE */, BitConverter.GetBytes(16 << 20));
        receiver.Bind(new IPEndPoint(IPAddress.Parse("10.79.0.2"), Port));
        receiver.ReceiveTimeout = 2000;
        using Socket sender = wire.A.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        // UDP_SEGMENT: each send leaves the stack as one UDP super-packet of ten datagrams (USO on the TUN).
        sender.SetRawSocketOption(17 /* SOL_UDP */, 103 /* UDP_SEGMENT */, BitConverter.GetBytes(Size));
        sender.Connect(new IPEndPoint(IPAddress.Parse("10.79.0.2"), Port));

        var seen = new bool[PerSend * Sends];
        int received = 0, corrupt = 0;
        var reader = new Thread(() =>
        {
            var buffer = new byte[65536];
            while (received < seen.Length)
            {
                int n;
                try
                {
                    n = receiver.Receive(buffer);
                }
                catch (SocketException)
                {
                    return; // nothing for 2 s: the rest was lost
                }
                int seq = BitConverter.ToInt32(buffer, 0);
                if (n != Size || seq < 0 || seq >= seen.Length || seen[seq] || !Pattern(buffer.AsSpan(0, n), seq))
                {
                    corrupt++;
                    continue;
                }
                seen[seq] = true;
                received++;
            }
        });
        reader.Start();
        var message = new byte[Size * PerSend];
        for (int s = 0; s < Sends; s++)
        {
            for (int d = 0; d < PerSend; d++)
                Fill(message.AsSpan(d * Size, Size), s * PerSend + d);
            sender.Send(message);
            if (s % 10 == 9)
                Thread.Sleep(2); // paced: the test is about bytes, not about TUN queue overruns
        }
        Assert.True(reader.Join(30_000), "the receiver did not finish");
        Assert.Equal(0, corrupt);
        Assert.Equal(0, Wire.Snmp(wire.C, "Udp", "InCsumErrors"));
        Assert.True(received >= seen.Length * 95 / 100, $"received {received} of {seen.Length} datagrams");
        Assert.True(wire.TunA.SuperPackets > 0, "the kernel handed over UDP super-packets (USO)");
        Assert.True(wire.TunB.SuperPacketsWritten > 0, "datagrams were coalesced on write (UDP GRO)");
    }

    private static void Fill(Span<byte> datagram, int seq)
    {
        BitConverter.TryWriteBytes(datagram, seq);
        for (int i = 4; i < datagram.Length; i++)
            datagram[i] = (byte)(seq * 31 + i);
    }

    private static bool Pattern(ReadOnlySpan<byte> datagram, int seq)
    {
        for (int i = 4; i < datagram.Length; i++)
            if (datagram[i] != (byte)(seq * 31 + i))
                return false;
        return true;
    }

    [RootFact]
    public void Without_uso_the_tun_keeps_tso_and_merges_tcp_only()
    {
        using var ns = Netns.Create("nouso");
        using Tun tun = ns.Run(() => Tun.Create("rnouso0", offload: true, udpOffload: false));
        Assert.Equal(TunOffload.TunFCsum | TunOffload.TunFTso4 | TunOffload.TunFTso6, tun.Offloads);
    }
}
