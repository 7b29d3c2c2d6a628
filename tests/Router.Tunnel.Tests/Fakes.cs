using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>An in-memory UDP network: binds by port, datagrams held until the test pumps them.</summary>
internal sealed class FakeNetwork
{
    private readonly Dictionary<ushort, FakeBind> _binds = new();
    private readonly List<(byte[] Data, Endpoint From, Endpoint To)> _inFlight = new();
    private ushort _nextPort = 40000;

    /// <summary>Return false to lose a datagram (from, to port, bytes).</summary>
    public Func<Endpoint, Endpoint, byte[], bool> Filter { get; set; } = (_, _, _) => true;

    /// <summary>Every datagram ever sent, for assertions.</summary>
    public List<(byte[] Data, Endpoint From, Endpoint To)> Log { get; } = new();

    public FakeBind Open(byte[] address, ushort port)
    {
        lock (_binds)
        {
            if (port == 0)
                port = _nextPort++;
            if (_binds.ContainsKey(port))
                throw new InvalidOperationException($"port {port} in use");
            var bind = new FakeBind(this, address, port);
            _binds[port] = bind;
            return bind;
        }
    }

    internal void Close(FakeBind bind)
    {
        lock (_binds)
            _binds.Remove(bind.Port);
    }

    internal void Send(FakeBind from, ReadOnlySpan<PacketBuffer> packets)
    {
        lock (_binds)
        {
            foreach (PacketBuffer p in packets)
            {
                var data = p.Payload.ToArray();
                var source = Endpoint.FromBytes(from.Address, from.Port);
                Log.Add((data, source, p.Endpoint));
                if (!Filter(source, p.Endpoint, data))
                    continue;
                if (AutoDeliver)
                    _binds.GetValueOrDefault(p.Endpoint.Port)?.Inbox.Add((data, source));
                else
                    _inFlight.Add((data, source, p.Endpoint));
            }
        }
    }

    /// <summary>Takes everything in flight (the test decides when and in what order it arrives).</summary>
    /// <summary>Threaded tests: datagrams go straight into the destination bind's inbox.</summary>
    public bool AutoDeliver { get; set; }

    public List<(byte[] Data, Endpoint From, Endpoint To)> TakeAll()
    {
        lock (_binds)
        {
            var all = new List<(byte[], Endpoint, Endpoint)>(_inFlight);
            _inFlight.Clear();
            return all;
        }
    }

    public FakeBind? BindAt(ushort port)
    {
        lock (_binds)
            return _binds.GetValueOrDefault(port);
    }
}

internal sealed class FakeBind(FakeNetwork network, byte[] address, ushort port) : IBind
{
    public readonly BlockingCollection<(byte[] Data, Endpoint From)> Inbox = new();

    /// <summary>The address this bind sends from; tests change it to simulate roaming.</summary>
    public byte[] Address { get; set; } = address;

    public ushort Port { get; } = port;

    public int BatchSize => 32;

    public bool Disposed { get; private set; }

    public int Receive(Span<PacketBuffer> packets)
    {
        if (Disposed)
            return 0;
        (byte[] Data, Endpoint From) item;
        try
        {
            item = Inbox.Take();
        }
        catch (InvalidOperationException)
        {
            return 0;
        }
        int n = 0;
        while (true)
        {
            PacketBuffer p = packets[n++];
            item.Data.CopyTo(p.Data.AsSpan(PacketBuffer.Headroom));
            p.Offset = PacketBuffer.Headroom;
            p.Length = item.Data.Length;
            p.Endpoint = item.From;
            if (n == packets.Length || !Inbox.TryTake(out item))
                return n;
        }
    }

    /// <summary>While true, every send fails as a kernel send would (no route, full buffer): nothing leaves.</summary>
    public bool RefuseSends { get; set; }

    /// <summary>What the kernel would have dropped at this socket before a read (a test sets it).</summary>
    public long ReceiveDrops { get; set; }

    /// <summary>Datagrams refused while <see cref="RefuseSends"/> was on.</summary>
    public long SendDrops { get; private set; }

    public int Send(ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
    {
        if (!sent.IsEmpty)
            sent[..packets.Length].Fill(!RefuseSends);
        if (RefuseSends)
        {
            SendDrops += packets.Length;
            return 0;
        }
        network.Send(this, packets);
        return packets.Length;
    }

    public void Dispose()
    {
        Disposed = true;
        Inbox.CompleteAdding();
        network.Close(this);
    }
}

/// <summary>A TUN that records what the device writes; reads block on a queue (threaded tests only).</summary>
internal sealed class FakeTun : ITun
{
    public readonly BlockingCollection<byte[]> ToRead = new();
    public readonly ConcurrentQueue<byte[]> Written = new();

    public int Mtu { get; set; } = 1420;

    public int BatchSize => 32;

    public int Read(Span<PacketBuffer> packets)
    {
        byte[] data;
        try
        {
            data = ToRead.Take();
        }
        catch (InvalidOperationException)
        {
            return 0;
        }
        int n = 0;
        while (true)
        {
            data.CopyTo(packets[n].Data.AsSpan(PacketBuffer.Headroom));
            packets[n].Offset = PacketBuffer.Headroom;
            packets[n].Length = data.Length;
            n++;
            // Like the real TUN: drain what is queued, up to the batch.
            if (n == packets.Length || !ToRead.TryTake(out data!))
                return n;
        }
    }

    /// <summary>While true, every write fails and is counted in <see cref="WriteDrops"/>, as Tun counts a refused write.</summary>
    public bool RefuseWrites { get; set; }

    public long WriteDrops { get; private set; }

    public void Write(ReadOnlySpan<PacketBuffer> packets)
    {
        if (RefuseWrites)
        {
            WriteDrops += packets.Length;
            return;
        }
        foreach (PacketBuffer p in packets)
            Written.Enqueue(p.Payload.ToArray());
    }

    public List<byte[]> TakeWritten()
    {
        var list = new List<byte[]>();
        while (Written.TryDequeue(out byte[]? p))
            list.Add(p);
        return list;
    }

    public void Dispose() => ToRead.CompleteAdding();
}

/// <summary>Builds minimal IPv4 / IPv6 packets.</summary>
internal static class Ip
{
    public static byte[] V4(string source, string destination, int payloadLength = 64, byte fill = 0xAB)
    {
        var p = new byte[20 + payloadLength];
        p[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        p[8] = 64;
        p[9] = 17;
        IPAddress.Parse(source).TryWriteBytes(p.AsSpan(12), out _);
        IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(16), out _);
        p.AsSpan(20).Fill(fill);
        return p;
    }

    public static byte[] V6(string source, string destination, int payloadLength = 64, byte fill = 0xCD)
    {
        var p = new byte[40 + payloadLength];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)payloadLength);
        p[6] = 17;
        p[7] = 64;
        IPAddress.Parse(source).TryWriteBytes(p.AsSpan(8), out _);
        IPAddress.Parse(destination).TryWriteBytes(p.AsSpan(24), out _);
        p.AsSpan(40).Fill(fill);
        return p;
    }
}
