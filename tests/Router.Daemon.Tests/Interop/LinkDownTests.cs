using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Router.Linux.Tests;

namespace Router.Daemon.Tests.Interop;

/// <summary>
/// `ip link set dev X down` silences routerd: no handshake initiation and no keepalive leaves while the interface is
/// down, even with a persistent keepalive configured, and a handshake starts as soon as it is up again (the kernel
/// and wireguard-go behave so). The peer is a plain UDP socket in a second namespace that counts what arrives.
/// </summary>
[Trait("Category", "Interop")]
[Collection("Interop")]
public sealed class LinkDownTests
{
    private const int InitiationSize = 148;

    [RootFact]
    public void NoHandshakeWhileTheInterfaceIsDownAndOneAssoonAsItIsUp()
    {
        using var lab = new Lab();
        Netns a = lab.Ns("ld"), b = lab.Ns("lp");
        var (ab, ba) = lab.Link(a, b);
        a.Ip($"addr add 192.0.2.1/24 dev {ab}");
        b.Ip($"addr add 192.0.2.2/24 dev {ba}");
        using Socket peer = b.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 51820));
            return s;
        });

        string ifname = lab.NewName("ld");
        lab.Daemon(a, Implementations.Routerd, ifname);
        string key = Wg.GenKey(), peerKey = Wg.PubKey(Wg.GenKey());
        // Keepalive every second: a device that ignored the link state would initiate at once and every 5 s after.
        lab.SetConf(a, ifname, WgOut.Conf(key, 51830, (peerKey, "192.0.2.2:51820", "10.99.0.2/32", 1)));
        a.Ip($"addr add 10.99.0.1/24 dev {ifname}");

        // Created down (as wireguard-go creates it), configured while down: silence.
        Assert.Equal(0, Count(peer, TimeSpan.FromSeconds(3)).Initiations);

        a.Ip($"link set {ifname} up");
        Assert.True(WaitForInitiation(peer, TimeSpan.FromSeconds(5)), "no initiation within 5 s of link up");

        a.Ip($"link set {ifname} down");
        Count(peer, TimeSpan.FromMilliseconds(300)); // what left before the down took effect
        var down = Count(peer, TimeSpan.FromSeconds(7)); // longer than REKEY_TIMEOUT + jitter: a retry would show
        Assert.Equal(0, down.Datagrams);

        a.Ip($"link set {ifname} up");
        Assert.True(WaitForInitiation(peer, TimeSpan.FromSeconds(5)), "no initiation within 5 s of link up again");
    }

    /// <summary>Counts datagrams (and handshake initiations among them) arriving within <paramref name="window"/>.</summary>
    private static (int Datagrams, int Initiations) Count(Socket socket, TimeSpan window)
    {
        int datagrams = 0, initiations = 0;
        byte[] buffer = new byte[2048];
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < window)
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(100), SelectMode.SelectRead))
                continue;
            int n = socket.Receive(buffer);
            datagrams++;
            if (n == InitiationSize && buffer[0] == 1)
                initiations++;
        }
        return (datagrams, initiations);
    }

    private static bool WaitForInitiation(Socket socket, TimeSpan timeout)
    {
        byte[] buffer = new byte[2048];
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(100), SelectMode.SelectRead))
                continue;
            if (socket.Receive(buffer) == InitiationSize && buffer[0] == 1)
                return true;
        }
        return false;
    }
}
