using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>
/// <see cref="Device.CopyDropsTo"/> is what metrics, routerd show and the log read: besides the engine's own drops
/// it must carry what the UDP socket lost before a read, what the TUN refused and what the socket refused to send,
/// per packet, and keep a replaced bind's counts when a new listen port rebinds.
/// </summary>
public sealed class DeviceDropCountTests
{
    [Fact]
    public void SocketAndTunLossesAreCountedBesideTheEnginesDrops()
    {
        using var net = new TwoDevices();
        net.Connect();
        var drops = new long[DropCounters.Count];

        // B's TUN refuses the three packets A sends: three drops, not one per batch.
        net.TunB.RefuseWrites = true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"), Ip.V4("10.0.0.1", "10.0.0.2"), Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        net.B.CopyDropsTo(drops);
        Assert.Equal(3, drops[(int)DropReason.TunWrite]);
        net.TunB.RefuseWrites = false;

        // A's socket refuses two sends.
        FakeBind bindA = net.Net.BindAt(TwoDevices.PortA)!;
        bindA.RefuseSends = true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"), Ip.V4("10.0.0.1", "10.0.0.2"));
        bindA.RefuseSends = false;
        net.A.CopyDropsTo(drops);
        Assert.Equal(2, drops[(int)DropReason.UdpSend]);

        // What the kernel dropped at the socket, and what a replaced bind had counted, stay in the total.
        bindA.ReceiveDrops = 7;
        net.A.CopyDropsTo(drops);
        Assert.Equal(7, drops[(int)DropReason.UdpReceive]);
        net.A.Configure(new DeviceConfig { ListenPort = 52000 });
        Assert.True(bindA.Disposed);
        net.Net.BindAt(52000)!.ReceiveDrops = 2;
        net.A.CopyDropsTo(drops);
        Assert.Equal(9, drops[(int)DropReason.UdpReceive]);
        Assert.Equal(2, drops[(int)DropReason.UdpSend]);

        // The engine's own reasons are there too, and the engine's counters alone do not have the I/O ones.
        net.SendFromA(Ip.V4("10.0.0.1", "10.9.9.9"));
        net.A.CopyDropsTo(drops);
        Assert.Equal(1, drops[(int)DropReason.NoPeer]);
        Assert.Equal(0, net.A.Drops[DropReason.UdpReceive]);
    }
}
