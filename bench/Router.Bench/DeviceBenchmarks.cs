using System.Buffers.Binary;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Router.Tunnel;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Bench;

/// <summary>
/// The whole engine in memory: device A reads a batch of IP packets from its TUN side, routes, pads, encrypts and
/// sends; an in-memory bind hands the datagrams to device B, which checks, decrypts, replays-checks, verifies the
/// inner source and writes to its TUN side. One operation = one packet end to end (both cores' work on one thread).
/// packets/s = 1 / Mean; GB/s = PacketSize * packets/s. Allocated should read 0 B (steady state allocates nothing).
/// <see cref="SendOnly"/> measures the sending device alone.
/// </summary>
[MemoryDiagnoser]
public class DeviceBenchmarks
{
    private const int Batch = 32;

    private Device? _a, _b;
    private QueueBind? _bindA, _bindB;
    private SinkTun? _tunB;
    private readonly PacketBuffer[] _batch = new PacketBuffer[Batch];
    private byte[] _packet = [];

    /// <summary>Inner IP packet size; 1420 fills the default MTU.</summary>
    [Params(1420)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var clock = new VirtualClock(); // frozen: no rekeying during the run
        _bindA = new QueueBind(1);
        _bindB = new QueueBind(2);
        _tunB = new SinkTun();
        _a = new Device(new SinkTun(), (_, _) => _bindA, clock);
        _b = new Device(_tunB, (_, _) => _bindB, clock);
        _bindA.Peer = _b;
        _bindB.Peer = _a;
        _a.Configure(new DeviceConfig { PrivateKey = Key32.From(RandomNumberGenerator.GetBytes(32)), ListenPort = 1 });
        _b.Configure(new DeviceConfig { PrivateKey = Key32.From(RandomNumberGenerator.GetBytes(32)), ListenPort = 2 });
        var toB = new PeerConfig(_b.Snapshot().PublicKey!.Value) { Endpoint = Endpoint.FromBytes([127, 0, 0, 1], 2) };
        toB.AllowedIps.Add(new(AllowedIp.Parse("10.0.0.2/32")));
        var toA = new PeerConfig(_a.Snapshot().PublicKey!.Value);
        toA.AllowedIps.Add(new(AllowedIp.Parse("10.0.0.1/32")));
        var configA = new DeviceConfig();
        configA.Peers.Add(toB);
        _a.Configure(configA);
        var configB = new DeviceConfig();
        configB.Peers.Add(toA);
        _b.Configure(configB);

        _packet = new byte[PacketSize];
        _packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(_packet.AsSpan(2), (ushort)PacketSize);
        _packet[9] = 17;
        byte[] source = [10, 0, 0, 1], destination = [10, 0, 0, 2];
        source.CopyTo(_packet, 12);
        destination.CopyTo(_packet, 16);
        for (int i = 0; i < Batch; i++)
            _batch[i] = new PacketBuffer();
        OnePass(); // handshake
        OnePass();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void TunnelOneWay()
    {
        _bindA!.Discard = false;
        OnePass();
    }

    /// <summary>Only the sending device's work (route, pad, encrypt): what one core of a sender does per packet.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public void SendOnly()
    {
        _bindA!.Discard = true;
        OnePass();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_tunB!.Packets == 0 && !_bindA!.Discard)
            throw new InvalidOperationException("Nothing went through the tunnel.");
        _a?.Dispose();
        _b?.Dispose();
    }

    private void OnePass()
    {
        foreach (PacketBuffer p in _batch)
        {
            p.Offset = PacketBuffer.Headroom;
            _packet.CopyTo(p.Data, PacketBuffer.Headroom);
            p.Length = _packet.Length;
        }
        _a!.HandleTunPackets(_batch);
        while (_bindA!.Pump() | _bindB!.Pump())
        {
        }
    }

    /// <summary>Copies sent datagrams into preallocated buffers; Pump hands them to the other device in one batch.</summary>
    private sealed class QueueBind(ushort port) : IBind
    {
        public Device? Peer;
        /// <summary>Drop what is sent instead of queueing it (sender-only measurement).</summary>
        public bool Discard;
        private readonly PacketBuffer[] _queue = CreateBuffers(4 * Batch);
        private int _count;

        public ushort Port => port;

        public int BatchSize => Batch;

        public int Receive(Span<PacketBuffer> packets) => 0;

        public int Send(ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
        {
            if (!sent.IsEmpty)
                sent[..packets.Length].Fill(true);
            if (Discard)
                return packets.Length;
            foreach (PacketBuffer packet in packets)
            {
                PacketBuffer b = _queue[_count++];
                b.Offset = PacketBuffer.Headroom;
                packet.Payload.CopyTo(b.Data.AsSpan(PacketBuffer.Headroom));
                b.Length = packet.Length;
                b.Endpoint = Endpoint.FromBytes([127, 0, 0, 1], port);
            }
            return packets.Length;
        }

        public bool Pump()
        {
            int n = _count;
            if (n == 0)
                return false;
            _count = 0;
            // Move the pending datagrams to the back half so replies queued meanwhile do not overwrite them.
            for (int i = 0; i < n; i++)
                (_queue[i], _queue[_queue.Length - n + i]) = (_queue[_queue.Length - n + i], _queue[i]);
            Peer!.HandleDatagrams(_queue.AsSpan(_queue.Length - n, n));
            return true;
        }

        public void Dispose()
        {
        }

        private static PacketBuffer[] CreateBuffers(int count)
        {
            var buffers = new PacketBuffer[count];
            for (int i = 0; i < count; i++)
                buffers[i] = new PacketBuffer();
            return buffers;
        }
    }

    private sealed class SinkTun : ITun
    {
        public long Packets;

        public int Mtu => 1420;

        public int BatchSize => Batch;

        public int Read(Span<PacketBuffer> packets) => 0;

        public void Write(ReadOnlySpan<PacketBuffer> packets) => Packets += packets.Length;

        public void Dispose()
        {
        }
    }
}
