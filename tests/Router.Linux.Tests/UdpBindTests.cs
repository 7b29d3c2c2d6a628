using System.Net;
using Router.Tunnel.IO;

namespace Router.Linux.Tests;

public sealed class UdpBindTests
{
    private static PacketBuffer[] Buffers(int n) => Enumerable.Range(0, n).Select(_ => new PacketBuffer()).ToArray();

    private static PacketBuffer Datagram(Endpoint to, int id, int size = 100)
    {
        var p = new PacketBuffer { Endpoint = to, Length = size };
        p.Payload.Fill((byte)id);
        BitConverter.TryWriteBytes(p.Payload, id);
        return p;
    }

    private static Endpoint At(string address, ushort port) => Endpoint.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(address), port));

    /// <summary>Receives until <paramref name="expected"/> datagrams came or the time is up (then closes the bind to unblock).</summary>
    private static List<(int Id, int Length, Endpoint From)> ReceiveAll(UdpBind bind, int expected, int timeoutMs = 5000)
    {
        var got = new List<(int, int, Endpoint)>();
        var buffers = Buffers(bind.BatchSize);
        using var timer = new Timer(_ => bind.Dispose(), null, timeoutMs, Timeout.Infinite);
        while (got.Count < expected)
        {
            int n = bind.Receive(buffers);
            if (n == 0)
                break;
            for (int i = 0; i < n; i++)
                got.Add((BitConverter.ToInt32(buffers[i].Payload), buffers[i].Length, buffers[i].Endpoint));
        }
        return got;
    }

    /// <summary>
    /// The bind's sockets share their port through SO_REUSEPORT, yet a second bind on it (another routerd, or any
    /// process) still fails with EADDRINUSE, and the first keeps receiving.
    /// </summary>
    [RootFact]
    public void A_second_bind_on_a_taken_port_fails_although_the_sockets_reuse_it()
    {
        using var ns = Netns.Create("udptaken");
        using UdpBind first = ns.Run(() => UdpBind.Open(0, offload: false));
        var e = Assert.Throws<AggregateException>(() => ns.Run(() => UdpBind.Open(first.Port, offload: false)));
        Assert.Equal(98, Assert.IsType<System.ComponentModel.Win32Exception>(e.InnerException).NativeErrorCode); // EADDRINUSE
        using UdpBind sender = ns.Run(() => UdpBind.Open(0, offload: false));
        Assert.Equal(2, sender.Send([Datagram(At("127.0.0.1", first.Port), 4), Datagram(At("::1", first.Port), 1)]));
        Assert.Equal(2, ReceiveAll(first, 2).Count);
    }

    /// <summary>
    /// Issue 20: a flood of handshake-type datagrams that nobody reads fills the handshake socket's buffer and dies
    /// there (counted), while transport messages (type 4) sent after it all arrive: they have a socket of their own,
    /// chosen by the kernel from the first payload byte. With one socket they were lost with the flood.
    /// </summary>
    [RootFact]
    public void A_handshake_flood_fills_its_own_socket_and_transport_messages_sent_after_it_all_arrive()
    {
        using var ns = Netns.Create("udpsteer");
        using UdpBind receiver = ns.Run(() => UdpBind.Open(0, offload: false));
        using UdpBind sender = ns.Run(() => UdpBind.Open(0, offload: false));
        Assert.True(receiver.HasHandshakeSockets);
        PacketBuffer Message(int type, int id, int size)
        {
            var p = Datagram(At("127.0.0.1", receiver.Port), id, size);
            p.Payload[0] = (byte)type; // the id's low byte is the type byte
            return p;
        }
        const int flood = 40_000, transports = 50;
        for (int start = 0; start < flood; start += 100)
            sender.Send(Enumerable.Range(start, 100).Select(i => Message(1 + i % 3, i, 148)).ToArray());
        Assert.True(receiver.KernelReceiveDrops > 1000, $"only {receiver.KernelReceiveDrops} of {flood} handshake datagrams dropped");
        Assert.Equal(transports, sender.Send(Enumerable.Range(0, transports).Select(i => Message(4, i << 8, 100)).ToArray()));

        var read = ReceiveAll(receiver, flood + transports, timeoutMs: 3000);
        var data = read.Where(r => (r.Id & 0xff) == 4).Select(r => r.Id >> 8).ToList();
        Assert.Equal(Enumerable.Range(0, transports), data.Order());
        Assert.Equal(flood + transports, read.Count + receiver.KernelReceiveDrops);
    }

    /// <summary>
    /// A receiver that falls behind loses datagrams in the kernel, at its socket: the bind reports them (SO_MEMINFO's
    /// sk_drops), so the device can count them. 20,000 datagrams of 1,400 bytes (28 MB) against a 7 MiB buffer
    /// nobody reads: thousands must be dropped, and every one of them sent is either read afterwards or counted.
    /// </summary>
    [RootFact]
    public void Datagrams_the_kernel_drops_at_a_full_socket_are_counted()
    {
        using var ns = Netns.Create("udpdrop");
        using UdpBind receiver = ns.Run(() => UdpBind.Open(0, offload: false));
        using UdpBind sender = ns.Run(() => UdpBind.Open(0, offload: false));
        Assert.Equal(0, receiver.ReceiveDrops);
        const int total = 20_000;
        int sent = 0;
        for (int start = 0; start < total; start += 100)
        {
            var batch = Enumerable.Range(start, 100).Select(i => Datagram(At("127.0.0.1", receiver.Port), i, 1400)).ToArray();
            sent += sender.Send(batch);
        }
        Assert.Equal(total, sent);
        long dropped = receiver.KernelReceiveDrops;
        Assert.True(dropped > 1000, $"only {dropped} of {total} datagrams dropped at a 7 MiB buffer nobody read");
        Assert.Equal(dropped, receiver.ReceiveDrops);
        var read = ReceiveAll(receiver, total, timeoutMs: 3000);
        Assert.Equal(total, read.Count + dropped);
        Assert.Equal(dropped, receiver.ReceiveDrops); // kept after Dispose (ReceiveAll closed it)
    }

    [RootFact]
    public void Ipv4_and_ipv6_batches_round_trip_between_two_binds_with_the_local_address_learned()
    {
        using var ns = Netns.Create("udp");
        using UdpBind a = ns.Run(() => UdpBind.Open(0));
        using UdpBind b = ns.Run(() => UdpBind.Open(0));
        Assert.NotEqual(0, a.Port);
        Assert.True(a.HasIPv4 && a.HasIPv6 && b.HasIPv4 && b.HasIPv6);
        Assert.Equal(128, a.BatchSize);
        // One port, both families: the IPv6 socket took the port the kernel chose for IPv4.
        string listening = ns.Exec("ss", "-Hunl");
        Assert.Contains($"0.0.0.0:{a.Port} ", listening);
        Assert.Contains($"[::]:{a.Port} ", listening);

        // 100 to each family in one Send: more than one sendmmsg run per family would also be fine.
        var outgoing = new List<PacketBuffer>();
        for (int i = 0; i < 100; i++)
        {
            outgoing.Add(Datagram(At("127.0.0.1", b.Port), i, 200 + i));
            outgoing.Add(Datagram(At("::1", b.Port), 1000 + i, 300 + i));
        }
        a.Send(outgoing.ToArray());
        Assert.Equal(0, a.SendErrors);

        var received = ReceiveAll(b, 200);
        Assert.Equal(200, received.Count);
        Assert.Equal(Enumerable.Range(0, 100).Concat(Enumerable.Range(1000, 100)).Order(), received.Select(r => r.Id).Order());
        foreach (var (id, length, from) in received)
        {
            Assert.Equal(id < 1000 ? 200 + id : 300 + id - 1000, length);
            Assert.Equal(a.Port, from.Port);
            var local = new Endpoint(from.LocalAddress, 1).ToIPEndPoint().Address;
            Assert.Equal(id < 1000 ? IPAddress.Loopback : IPAddress.IPv6Loopback, local);
            Assert.True(from.LocalInterface > 0);
        }

        // Replies go to the learned endpoints, from the learned local addresses.
        b.Send(received.Select(r => Datagram(r.From, r.Id + 5000)).ToArray());
        var replies = ReceiveAll(a, 200);
        Assert.Equal(200, replies.Count);
        Assert.All(replies, r => Assert.Equal(b.Port, r.From.Port));
        Assert.Equal(0, b.SendErrors);
        Assert.Equal(0, b.SourceFallbacks);
    }

    [RootFact]
    public void Datagrams_cross_a_veth_pair_between_two_namespaces_in_both_families()
    {
        using var nsA = Netns.Create("va");
        using var nsB = Netns.Create("vb");
        string va = "rva" + Random.Shared.Next(1000, 9999), vb = "rvb" + Random.Shared.Next(1000, 9999);
        nsA.Ip($"link add {va} type veth peer name {vb} netns {nsB.Name}");
        nsA.Ip($"addr add 10.98.0.1/24 dev {va}");
        nsA.Ip($"addr add fd98::1/64 dev {va} nodad");
        nsB.Ip($"addr add 10.98.0.2/24 dev {vb}");
        nsB.Ip($"addr add fd98::2/64 dev {vb} nodad");
        nsA.Ip($"link set {va} up");
        nsB.Ip($"link set {vb} up");

        using UdpBind a = nsA.Run(() => UdpBind.Open(0));
        using UdpBind b = nsB.Run(() => UdpBind.Open(51820));
        Assert.Equal(51820, b.Port);

        var batch = Enumerable.Range(0, 64).Select(i => Datagram(At(i % 2 == 0 ? "10.98.0.2" : "fd98::2", 51820), i, 1400)).ToArray();
        nsA.Resolve("10.98.0.2");
        nsA.Resolve("fd98::2");
        a.Send(batch);
        Assert.True(a.SendErrors == 0, $"{a.SendErrors} send errors, last errno {a.LastSendErrno}");
        var received = ReceiveAll(b, 64);
        Assert.Equal(64, received.Count);
        Assert.Contains(received, r => r.From.IsIPv4 && r.From.ToIPEndPoint().Address.Equals(IPAddress.Parse("10.98.0.1")));
        Assert.Contains(received, r => !r.From.IsIPv4 && r.From.ToIPEndPoint().Address.Equals(IPAddress.Parse("fd98::1")));

        b.Send(received.Select(r => Datagram(r.From, r.Id)).ToArray());
        var replies = ReceiveAll(a, received.Count);
        Assert.Equal(received.Count, replies.Count);
        Assert.All(replies, r => Assert.Equal(51820, r.From.Port));
    }

    [RootFact]
    public void A_sticky_source_is_used_and_falls_over_when_the_address_is_removed()
    {
        using var client = Netns.Create("stc");
        using var server = Netns.Create("sts");
        string va = "rsa" + Random.Shared.Next(1000, 9999), vb = "rsb" + Random.Shared.Next(1000, 9999);
        client.Ip($"link add {va} type veth peer name {vb} netns {server.Name}");
        client.Ip($"addr add 10.97.0.1/24 dev {va}");
        client.Ip($"addr add fd97::1/64 dev {va} nodad");
        server.Ip($"addr add 10.97.0.2/24 dev {vb}");
        server.Ip($"addr add 10.97.0.3/24 dev {vb}");
        server.Ip($"addr add fd97::2/64 dev {vb} nodad");
        server.Ip($"addr add fd97::3/64 dev {vb} nodad");
        client.Ip($"link set {va} up");
        server.Ip($"link set {vb} up");
        using UdpBind serverBind = server.Run(() => UdpBind.Open(0));
        using UdpBind clientBind = client.Run(() => UdpBind.Open(0));

        foreach (string secondary in new[] { "10.97.0.3", "fd97::3" })
        {
            // The client talks to the secondary address; the server learns it as the local address.
            clientBind.Send([Datagram(At(secondary, serverBind.Port), 1)]);
            var first = Assert.Single(ReceiveAll(serverBind, 1));
            Endpoint learned = first.From;
            Assert.Equal(IPAddress.Parse(secondary), new Endpoint(learned.LocalAddress, 1).ToIPEndPoint().Address);

            // A reply leaves from it (for IPv4 the kernel alone would pick the primary 10.97.0.2).
            serverBind.Send([Datagram(learned, 2)]);
            var reply = Assert.Single(ReceiveAll(clientBind, 1));
            Assert.Equal(IPAddress.Parse(secondary), reply.From.ToIPEndPoint().Address);

            // Remove the address: the next reply falls back to the kernel's choice, and the endpoint loses its source.
            server.Ip($"addr del {secondary}/{(secondary.Contains(':') ? 64 : 24)} dev {vb}");
            long before = serverBind.SourceFallbacks;
            var stale = Datagram(learned, 3);
            serverBind.Send([stale]);
            Assert.True(before + 1 == serverBind.SourceFallbacks, $"fallbacks {serverBind.SourceFallbacks}, errors {serverBind.SendErrors}, errno {serverBind.LastSendErrno}");
            Assert.Equal(UInt128.Zero, stale.Endpoint.LocalAddress);
            var fallback = Assert.Single(ReceiveAll(clientBind, 1));
            Assert.Equal(3, fallback.Id);
            Assert.Equal(IPAddress.Parse(secondary.Contains(':') ? "fd97::2" : "10.97.0.2"), fallback.From.ToIPEndPoint().Address);
            Assert.Equal(0, serverBind.SendErrors);
        }
    }

    [RootFact]
    public void Fwmark_is_set_at_run_time_and_steers_routing()
    {
        using var ns = Netns.Create("mark");
        string va = "rma" + Random.Shared.Next(1000, 9999), vb = "rmb" + Random.Shared.Next(1000, 9999);
        ns.Ip($"link add {va} type veth peer name {vb}");
        ns.Ip($"addr add 10.96.0.1/24 dev {va}");
        ns.Ip($"link set {va} up");
        ns.Ip($"link set {vb} up");
        using UdpBind bind = ns.Run(() => UdpBind.Open(0));
        Assert.Equal(0u, bind.ReadMarkFromKernel());

        // Marked traffic is looked up in a table where 10.96.0.0/24 is unreachable.
        ns.Ip("rule add fwmark 0x51 lookup 151 priority 10");
        ns.Ip("route add unreachable 10.96.0.0/24 table 151");

        bind.Send([Datagram(At("10.96.0.2", 9), 1)]);
        Assert.True(bind.SendErrors == 0, $"errno {bind.LastSendErrno}");

        bind.SetMark(0x51);
        Assert.Equal(0x51u, bind.Mark);
        Assert.Equal(0x51u, bind.ReadMarkFromKernel());
        bind.Send([Datagram(At("10.96.0.2", 9), 2)]);
        Assert.Equal(1, bind.SendErrors);

        bind.SetMark(0);
        Assert.Equal(0u, bind.ReadMarkFromKernel());
    }

    [RootFact]
    public void Dispose_unblocks_a_waiting_receive_and_buffers_are_large()
    {
        using var ns = Netns.Create("close");
        UdpBind bind = ns.Run(() => UdpBind.Open(0));
        var (receive, send) = bind.BufferSizes();
        Assert.True(receive >= UdpBind.SocketBufferSize, $"receive buffer {receive}");
        Assert.True(send >= UdpBind.SocketBufferSize, $"send buffer {send}");

        int result = -1;
        var thread = new Thread(() => result = bind.Receive(Buffers(4))) { IsBackground = true };
        thread.Start();
        Thread.Sleep(100);
        bind.Dispose();
        Assert.True(thread.Join(2000));
        Assert.Equal(0, result);
        Assert.Equal(0, bind.Receive(Buffers(1)));
        bind.Send([Datagram(At("127.0.0.1", 9), 1)]); // no throw after close
    }

    [RootFact]
    public void A_taken_port_is_refused()
    {
        using var ns = Netns.Create("port");
        using UdpBind first = ns.Run(() => UdpBind.Open(0));
        var error = Assert.ThrowsAny<Exception>(() => ns.Run(() => UdpBind.Open(first.Port)));
        Assert.Contains("bind", error.InnerException!.Message + error.Message);
    }
}
