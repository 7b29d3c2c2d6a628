using System.Net;
using System.Security.Cryptography;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Tunnel.Tests;

/// <summary>
/// Two devices on a <see cref="FakeNetwork"/> sharing one <see cref="VirtualClock"/>. A (192.0.2.1:51820, tunnel
/// 10.0.0.1 / fd00::1) knows B's endpoint; B (198.51.100.2:51821, tunnel 10.0.0.2 / fd00::2) learns A's from the
/// handshake. Everything moves only when the test pumps or advances time.
/// </summary>
internal sealed class TwoDevices : IDisposable
{
    public static readonly byte[] AddressA = [192, 0, 2, 1];
    public static readonly byte[] AddressB = [198, 51, 100, 2];
    public const ushort PortA = 51820, PortB = 51821;

    public readonly VirtualClock Clock = new();
    public readonly FakeNetwork Net = new();
    public readonly FakeTun TunA = new(), TunB = new();
    public readonly Device A, B;
    public readonly PublicKey KeyA, KeyB;
    public readonly List<(ushort Port, uint Mark)> BindRequestsA = new();
    private readonly PacketBuffer _buffer = new();

    public TwoDevices(bool presharedKey = false, bool pskMismatch = false, ITimestampSource? timestampsA = null, Func<bool>? linkProbeA = null)
    {
        A = new Device(TunA, (port, mark) =>
        {
            BindRequestsA.Add((port, mark));
            return Net.Open(AddressA, port);
        }, Clock, timestampsA) { LinkProbe = linkProbeA };
        B = new Device(TunB, (port, _) => Net.Open(AddressB, port), Clock);
        KeyA = Identity(A, PortA);
        KeyB = Identity(B, PortB);

        var psk = Key32.From(RandomNumberGenerator.GetBytes(32));
        var otherPsk = Key32.From(RandomNumberGenerator.GetBytes(32));
        var toB = new PeerConfig(KeyB) { Endpoint = Endpoint.FromBytes(AddressB, PortB) };
        toB.AllowedIps.Add(new(AllowedIp.Parse("10.0.0.2/32")));
        toB.AllowedIps.Add(new(AllowedIp.Parse("fd00::2/128")));
        toB.AllowedIps.Add(new(AllowedIp.Parse("10.2.0.0/16")));
        var toA = new PeerConfig(KeyA);
        toA.AllowedIps.Add(new(AllowedIp.Parse("10.0.0.1/32")));
        toA.AllowedIps.Add(new(AllowedIp.Parse("fd00::1/128")));
        if (presharedKey)
        {
            toB.PresharedKey = psk;
            toA.PresharedKey = pskMismatch ? otherPsk : psk;
        }
        var configA = new DeviceConfig();
        configA.Peers.Add(toB);
        A.Configure(configA);
        var configB = new DeviceConfig();
        configB.Peers.Add(toA);
        B.Configure(configB);
        configA.ClearSecrets();
        configB.ClearSecrets();
    }

    private static PublicKey Identity(Device device, ushort port)
    {
        var config = new DeviceConfig { PrivateKey = Key32.From(RandomNumberGenerator.GetBytes(32)), ListenPort = port };
        device.Configure(config);
        config.ClearSecrets();
        return device.Snapshot().PublicKey!.Value;
    }

    public Peer PeerBOnA => A.FindPeer(KeyB)!;
    public Peer PeerAOnB => B.FindPeer(KeyA)!;

    /// <summary>Hands IP packets to A's TUN side, one at a time through one reused buffer.</summary>
    public void SendFromA(params byte[][] packets) => Send(A, packets);

    public void SendFromB(params byte[][] packets) => Send(B, packets);

    private void Send(Device device, byte[][] packets)
    {
        foreach (byte[] packet in packets)
        {
            _buffer.Reset();
            packet.CopyTo(_buffer.Data.AsSpan(PacketBuffer.Headroom));
            _buffer.Length = packet.Length;
            device.HandleTunPackets([_buffer]);
        }
    }

    /// <summary>Delivers one datagram to whichever device listens on its port.</summary>
    public void Deliver(byte[] data, Endpoint from, Endpoint to)
    {
        Device? device = to.Port == A.ListenPort ? A : to.Port == B.ListenPort ? B : null;
        if (device is null)
            return;
        _buffer.Reset();
        data.CopyTo(_buffer.Data.AsSpan(PacketBuffer.Headroom));
        _buffer.Length = data.Length;
        _buffer.Endpoint = from;
        device.HandleDatagrams([_buffer]);
    }

    /// <summary>Delivers everything in flight, and what that causes, until the network is quiet.</summary>
    public void Pump()
    {
        for (int round = 0; round < 100; round++)
        {
            var batch = Net.TakeAll();
            if (batch.Count == 0)
                return;
            foreach (var (data, from, to) in batch)
                Deliver(data, from, to);
        }
        throw new InvalidOperationException("The network never went quiet.");
    }

    /// <summary>Moves time forward in small steps, ticking both devices and pumping the network.</summary>
    public void Advance(TimeSpan duration, TimeSpan? step = null)
    {
        TimeSpan s = step ?? TimeSpan.FromMilliseconds(100);
        for (TimeSpan t = TimeSpan.Zero; t < duration; t += s)
        {
            Clock.Advance(s);
            A.Tick();
            B.Tick();
            Pump();
        }
    }

    /// <summary>Completes a handshake by sending one IPv4 packet A to B.</summary>
    public void Connect()
    {
        SendFromA(Ip.V4("10.0.0.1", "10.0.0.2"));
        Pump();
        TunB.TakeWritten();
    }

    public int CountSent(MessageType type, byte[]? fromAddress = null, int? length = null)
    {
        int n = 0;
        foreach (var (data, from, _) in Net.Log)
        {
            if (data.Length >= 4 && data[0] == (byte)type && (length is null || data.Length == length) &&
                (fromAddress is null || from == Endpoint.FromBytes(fromAddress, from.Port)))
                n++;
        }
        return n;
    }

    public void Dispose()
    {
        A.Dispose();
        B.Dispose();
    }

    public static IPAddress Ipa(string s) => IPAddress.Parse(s);
}
