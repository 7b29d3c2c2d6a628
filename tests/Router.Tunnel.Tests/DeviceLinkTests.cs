namespace Router.Tunnel.Tests;

/// <summary>
/// Interface down (ip link set dev X down): the device starts nothing — no initiation, no keepalive, no data — and
/// picks up again when the interface comes back up (kernel wg_stop/wg_open, wireguard-go Device.Down/Up).
/// </summary>
public sealed class DeviceLinkTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static void KeepaliveEvery(TwoDevices net, ushort seconds)
    {
        var config = new DeviceConfig();
        config.Peers.Add(new PeerConfig(net.KeyB) { PersistentKeepaliveInterval = seconds });
        net.A.Configure(config);
        net.Pump();
    }

    private static int SentByA(TwoDevices net) => net.Net.Log.Count(d => d.From.Port == TwoDevices.PortA);

    [Fact]
    public void DownSendsNothingForAMinuteAndUpHandshakesAtOnce()
    {
        using var net = new TwoDevices();
        KeepaliveEvery(net, 1);
        Assert.True(net.A.Snapshot().Peers.Single().HasSession);

        net.A.SetUp(false);
        Assert.False(net.A.IsUp);
        Assert.False(net.A.Snapshot().Peers.Single().HasSession); // sessions go with the link (wg_stop)
        int before = SentByA(net);
        net.Advance(TimeSpan.FromSeconds(60), Second); // 60 keepalive intervals, 12 rekey timeouts
        Assert.Equal(before, SentByA(net));

        int initiations = net.CountSent(MessageType.Initiation, TwoDevices.AddressA);
        net.A.SetUp(true);
        Assert.Equal(initiations + 1, net.CountSent(MessageType.Initiation, TwoDevices.AddressA));
        net.Pump();
        Assert.True(net.A.Snapshot().Peers.Single().HasSession);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Single(net.TunB.TakeWritten());
    }

    [Fact]
    public void DownStartsNothingButAnswersAPeersInitiation()
    {
        using var net = new TwoDevices();
        var toA = new DeviceConfig(); // B knows A's endpoint, so B initiates towards the downed A
        toA.Peers.Add(new PeerConfig(net.KeyA) { Endpoint = IO.Endpoint.FromBytes(TwoDevices.AddressA, TwoDevices.PortA) });
        net.B.Configure(toA);
        net.A.SetUp(false);
        KeepaliveEvery(net, 5); // configured while down: waits for up
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        Assert.Equal(1, net.A.Drops[DropReason.InterfaceDown]);
        Assert.Equal(0, SentByA(net));

        // wireguard-go 2022 initiates while its own link is down: A answers (a responder starts nothing) ...
        net.SendFromB(Ip.V4("10.0.0.2", "10.0.0.1"));
        net.Pump();
        Assert.Equal(1, net.CountSent(MessageType.Response, TwoDevices.AddressA));
        Assert.Single(net.TunA.TakeWritten());
        // ... but sends no initiation, keepalive or data of its own for 30 s (keepalive 5 s, passive keepalive 10 s).
        int transport = net.CountSent(MessageType.Transport, TwoDevices.AddressA);
        net.Advance(TimeSpan.FromSeconds(30), Second);
        Assert.Equal(transport, net.CountSent(MessageType.Transport, TwoDevices.AddressA));
        Assert.Equal(0, net.CountSent(MessageType.Initiation, TwoDevices.AddressA));

        net.A.SetUp(true); // the persistent keepalive starts, on the session B opened
        net.Pump();
        Assert.True(net.A.Snapshot().Peers.Single().HasSession);
        Assert.Equal(transport + 1, net.CountSent(MessageType.Transport, TwoDevices.AddressA));
    }

    [Fact]
    public void APacketThatOutrunsTheUpNotificationIsCarried()
    {
        // `ip link set up` returned and the first packet was read before the notification came: the probe says up.
        bool linkUp = false;
        using var net = new TwoDevices(linkProbeA: () => linkUp);
        net.A.SetUp(false);
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.Equal(1, net.A.Drops[DropReason.InterfaceDown]); // down, and the probe agrees
        Assert.Equal(0, SentByA(net));

        linkUp = true;
        net.SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        net.Pump();
        Assert.True(net.A.IsUp);
        Assert.Single(net.TunB.TakeWritten());
    }

    [Fact]
    public void RepeatedStateChangesNothing()
    {
        using var net = new TwoDevices();
        KeepaliveEvery(net, 25);
        int sent = SentByA(net);
        net.A.SetUp(true); // already up: no second handshake, the session stays
        Assert.Equal(sent, SentByA(net));
        Assert.True(net.A.Snapshot().Peers.Single().HasSession);
    }
}
