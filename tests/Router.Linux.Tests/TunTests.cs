using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Router.Tunnel.IO;

namespace Router.Linux.Tests;

public sealed class TunTests
{
    private static PacketBuffer[] Buffers(int n) => Enumerable.Range(0, n).Select(_ => new PacketBuffer()).ToArray();

    /// <summary>Answers ICMP echo requests read from the TUN until it is closed; returns how many it answered.</summary>
    private static Thread StartPingResponder(Tun tun, Action<int> done)
    {
        var thread = new Thread(() =>
        {
            var buffers = Buffers(8);
            int answered = 0;
            while (true)
            {
                int n = tun.Read(buffers);
                if (n == 0)
                    break;
                for (int i = 0; i < n; i++)
                {
                    if (Packets.TryMakeEchoReply(buffers[i].Payload))
                    {
                        tun.Write(buffers.AsSpan(i, 1));
                        answered++;
                    }
                }
            }
            done(answered);
        }) { IsBackground = true };
        thread.Start();
        return thread;
    }

    [RootFact]
    public void Ping_to_the_tun_subnet_is_read_and_the_written_reply_reaches_ping()
    {
        using var ns = Netns.Create("tun");
        using Tun tun = ns.Run(() => Tun.Create("rtun0"));
        Assert.Equal("rtun0", tun.Name);
        tun.Rtnetlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.77.0.1"), 24);
        tun.SetUp(true);

        int answered = -1;
        Thread responder = StartPingResponder(tun, n => answered = n);
        string output = ns.Exec("ping", "-c 3 -i 0.2 -W 2 10.77.0.2");
        Assert.Contains("3 received", output);
        tun.Dispose();
        Assert.True(responder.Join(2000), "Read did not return after Dispose");
        Assert.True(answered >= 3);
        Assert.False(tun.IsDeleted);
    }

    /// <summary>
    /// Writes the kernel refuses are counted per packet: one with no IP version (EINVAL), then a batch of three while
    /// the link is down (EIO). The device reports these as DropReason.TunWrite.
    /// </summary>
    [RootFact]
    public void Packets_the_kernel_refuses_are_counted_per_packet()
    {
        using var ns = Netns.Create("tunw");
        using Tun tun = ns.Run(() => Tun.Create("rtunw"));
        tun.Rtnetlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.77.3.1"), 24);
        tun.SetUp(true);
        var bad = new PacketBuffer { Length = 40 };
        bad.Payload.Clear(); // version nibble 0: neither IPv4 nor IPv6
        tun.Write([bad]);
        Assert.Equal(1, tun.WriteDrops);

        tun.SetUp(false);
        var pings = Enumerable.Range(0, 3).Select(i =>
        {
            var p = new PacketBuffer();
            p.Length = Packets.WriteUdp4(p.Data.AsSpan(p.Offset), IPAddress.Parse("10.77.3.2"), 4000, IPAddress.Parse("10.77.3.1"), (ushort)(5000 + i), new byte[100]);
            return p;
        }).ToArray();
        tun.Write(pings);
        Assert.Equal(4, tun.WriteDrops);
        Assert.Equal(tun.WriteErrors, tun.WriteDrops);
    }

    [RootFact]
    public void Large_udp_datagrams_cross_the_tun_both_ways_at_mtu_65535()
    {
        using var ns = Netns.Create("tunudp");
        using Tun tun = ns.Run(() => Tun.Create("rtun1"));
        tun.SetMtu(65535);
        Assert.Equal(65535, tun.Mtu);
        tun.Rtnetlink.AddAddress(tun.InterfaceIndex, IPAddress.Parse("10.77.1.1"), 24);
        tun.SetUp(true);
        using Socket socket = ns.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Parse("10.77.1.1"), 4000));
            return s;
        });
        socket.ReceiveTimeout = 3000;

        // Inward: a 60,000-byte datagram written to the TUN arrives at the socket intact.
        byte[] payload = new byte[60_000];
        Random.Shared.NextBytes(payload);
        var packet = new PacketBuffer();
        packet.Length = Packets.WriteUdp4(packet.Data.AsSpan(packet.Offset), IPAddress.Parse("10.77.1.2"), 5000, IPAddress.Parse("10.77.1.1"), 4000, payload);
        tun.Write([packet]);
        byte[] received = new byte[65536];
        int got = socket.Receive(received);
        Assert.Equal(payload, received.AsSpan(0, got).ToArray());
        Assert.Equal(0, tun.WriteErrors);

        // Outward: the socket's 60,000-byte datagram is read from the TUN as one packet.
        socket.SendTo(payload, new IPEndPoint(IPAddress.Parse("10.77.1.2"), 5000));
        var buffers = Buffers(4);
        var watch = Stopwatch.StartNew();
        while (watch.ElapsedMilliseconds < 3000)
        {
            int n = tun.Read(buffers);
            for (int i = 0; i < n; i++)
            {
                Span<byte> p = buffers[i].Payload;
                if (p.Length == 28 + payload.Length && p[9] == 17)
                {
                    Assert.Equal(payload, p[28..].ToArray());
                    return;
                }
            }
        }
        Assert.Fail("the datagram never came out of the TUN");
    }

    [RootFact]
    public void Mtu_changes_are_followed_up_to_65535()
    {
        using var ns = Netns.Create("mtu");
        int mtuEvents = 0;
        using Tun tun = ns.Run(() => Tun.Create("rtun2", e => { if (e == TunEvent.MtuChanged) Interlocked.Increment(ref mtuEvents); }));
        Assert.Equal(1500, tun.Mtu);

        ns.Ip("link set rtun2 mtu 1280");
        Assert.True(Wait.Until(() => tun.Mtu == 1280), $"MTU is {tun.Mtu}");
        ns.Ip("link set rtun2 mtu 34736");
        Assert.True(Wait.Until(() => tun.Mtu == 34736), $"MTU is {tun.Mtu}");
        ns.Ip("link set rtun2 mtu 65535");
        Assert.True(Wait.Until(() => tun.Mtu == 65535), $"MTU is {tun.Mtu}");
        Assert.True(mtuEvents >= 3);

        tun.SetMtu(1420);
        Assert.Contains("mtu 1420", ns.Ip("link show rtun2"));
        Assert.Equal(1420, tun.Rtnetlink.GetLink(tun.InterfaceIndex).Mtu);
    }

    [RootFact]
    public void Link_up_and_down_are_set_and_reported()
    {
        using var ns = Netns.Create("updown");
        var events = new System.Collections.Concurrent.ConcurrentQueue<TunEvent>();
        using Tun tun = ns.Run(() => Tun.Create("rtun6", events.Enqueue));
        tun.SetUp(true);
        Assert.Contains(",UP", ns.Ip("link show rtun6"));
        Assert.True(Wait.Until(() => events.Contains(TunEvent.Up)));
        ns.Ip("link set rtun6 down");
        Assert.True(Wait.Until(() => events.Contains(TunEvent.Down)));
        Assert.Equal(0u, tun.Rtnetlink.GetLink(tun.InterfaceIndex).Flags & 1);
        Assert.DoesNotContain(TunEvent.Deleted, events);
    }

    [RootFact]
    public void Deleting_the_interface_ends_a_blocked_read_and_reports_it()
    {
        using var ns = Netns.Create("del");
        using var deleted = new ManualResetEventSlim();
        using Tun tun = ns.Run(() => Tun.Create("rtun3", e => { if (e == TunEvent.Deleted) deleted.Set(); }));
        tun.SetUp(true);
        int result = -1;
        var reader = new Thread(() =>
        {
            // Whatever the kernel sends on a fresh link (IPv6 router solicitations) is read first.
            var buffers = Buffers(4);
            while ((result = tun.Read(buffers)) > 0)
            {
            }
        }) { IsBackground = true };
        reader.Start();
        Thread.Sleep(100);

        ns.Ip("link del rtun3");
        Assert.True(reader.Join(3000), "Read is still blocked after the interface was deleted");
        Assert.Equal(0, result);
        Assert.True(tun.IsDeleted);
        Assert.True(deleted.Wait(3000));
        Assert.Equal(0, tun.Read(Buffers(1)));
    }

    [RootFact]
    public void A_tun_moved_to_another_namespace_keeps_working_and_its_deletion_there_is_seen()
    {
        using var a = Netns.Create("mva");
        using var b = Netns.Create("mvb");
        using Tun tun = a.Run(() => Tun.Create("rtun4"));
        a.Ip($"link set rtun4 netns {b.Name}");
        Thread.Sleep(300);
        Assert.False(tun.IsDeleted, "moving the interface away is not deleting it");

        b.Ip("addr add 10.77.4.1/24 dev rtun4");
        b.Ip("link set rtun4 up");
        int answered = -1;
        Thread responder = StartPingResponder(tun, n => answered = n);
        string output = b.Exec("ping", "-c 2 -i 0.2 -W 2 10.77.4.2");
        Assert.Contains("2 received", output);

        b.Ip("link del rtun4");
        Assert.True(responder.Join(3000), "Read did not end after deletion in the other namespace");
        Assert.True(tun.IsDeleted);
        Assert.True(answered >= 2);
    }

    [RootFact]
    public void A_tun_moved_to_another_namespace_is_followed_there_and_back()
    {
        using var a = Netns.Create("fla");
        using var b = Netns.Create("flb");
        var events = new System.Collections.Concurrent.ConcurrentQueue<TunEvent>();
        using Tun tun = a.Run(() => Tun.Create("rtun6", events.Enqueue));
        int homeIndex = tun.InterfaceIndex;

        a.Ip($"link set rtun6 netns {b.Name}");
        Assert.True(Wait.Until(() => !tun.InCreationNamespace, 3000), "the move is seen");
        Assert.Contains(TunEvent.NamespaceChanged, events);
        Assert.False(tun.IsDeleted);
        // An unrelated link in A takes the TUN's old index, up: asking A for that index would answer for it.
        a.Ip($"link add rveth6a index {homeIndex} type veth peer name rveth6b");
        a.Ip("link set rveth6a up");
        Assert.Equal(0u, tun.QueryLink().Flags & 1); // a moved link arrives down

        b.Ip("link set rtun6 mtu 34736 up");
        Assert.Equal(1u, tun.QueryLink().Flags & 1); // asked now, read in B
        Assert.True(Wait.Until(() => tun.Mtu == 34736, 5000), $"MTU set in B is followed (is {tun.Mtu})");
        Assert.Contains(TunEvent.Up, events);
        b.Ip("link set rtun6 down");
        Assert.True(Wait.Until(() => events.Count(e => e == TunEvent.Down) >= 1 && (tun.QueryLink().Flags & 1) == 0, 5000));

        // Renamed in B, then back home under the new name: still the same interface.
        b.Ip("link set rtun6 name rtun6b");
        b.Ip($"link set rtun6b netns {a.Name}");
        Assert.True(Wait.Until(() => tun.InCreationNamespace, 5000), "the move back is seen");
        Assert.Equal(34736, tun.QueryLink().Mtu);
        Assert.Contains(": rtun6b:", a.Ip($"-o link show"));
        Console.WriteLine($"index {homeIndex} at first, {tun.InterfaceIndex} after the way back");
        a.Ip("link set rtun6b mtu 1400");
        Assert.True(Wait.Until(() => tun.Mtu == 1400, 3000), "notifications drive again at home");
        a.Ip("link del rtun6b");
        Assert.True(Wait.Until(() => tun.IsDeleted, 3000));
    }

    [RootFact]
    public void Attaching_by_name_to_an_existing_tun_works()
    {
        using var ns = Netns.Create("att");
        ns.Ip("tuntap add dev rtun5 mode tun");
        using Tun tun = ns.Run(() => Tun.Create("rtun5"));
        Assert.Equal("rtun5", tun.Name);
        Assert.True(tun.InterfaceIndex > 0);
    }
}
