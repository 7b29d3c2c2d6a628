using Router.Tunnel.IO;

namespace Router.Tunnel.Tests;

/// <summary>Steady-state traffic allocates nothing: pooled buffers, spans, no closures or boxing.</summary>
public sealed class DeviceAllocationTests
{
    /// <summary>Queues sent datagrams in preallocated buffers; <see cref="Pump"/> hands them to the other device.</summary>
    private sealed class DirectBind(ushort port) : IBind
    {
        public Device? Peer;
        private readonly PacketBuffer[] _queue = Enumerable.Range(0, 64).Select(_ => new PacketBuffer()).ToArray();
        private int _count;
        public ushort Port => port;
        public int BatchSize => 4;
        public int Receive(Span<PacketBuffer> packets) => 0;

        public int Send(ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
        {
            if (!sent.IsEmpty)
                sent[..packets.Length].Fill(true);
            foreach (PacketBuffer packet in packets)
            {
                PacketBuffer b = _queue[_count++];
                b.Reset();
                packet.Payload.CopyTo(b.Data.AsSpan(PacketBuffer.Headroom));
                b.Length = packet.Length;
                b.Endpoint = Endpoint.FromBytes([127, 0, 0, 1], port);
            }
            return packets.Length;
        }

        public bool Pump()
        {
            if (_count == 0)
                return false;
            int n = _count;
            _count = 0;
            // Deliver from the back half so that replies queued meanwhile do not overwrite what is being read.
            for (int i = 0; i < n; i++)
                (_queue[i], _queue[_queue.Length - n + i]) = (_queue[_queue.Length - n + i], _queue[i]);
            Peer!.HandleDatagrams(_queue.AsSpan(_queue.Length - n, n));
            return true;
        }

        public void Dispose() { }
    }

    private sealed class CountingTun : ITun
    {
        public long Packets;
        public int Mtu => 1420;
        public int BatchSize => 4;
        public int Read(Span<PacketBuffer> packets) => 0;
        public void Write(ReadOnlySpan<PacketBuffer> packets) => Packets += packets.Length;
        public void Dispose() { }
    }

    [Fact]
    public void SteadyStateSendAndReceiveAllocateNothing()
    {
        var clock = new VirtualClock();
        var bindA = new DirectBind(1);
        var bindB = new DirectBind(2);
        var tunB = new CountingTun();
        var a = new Device(new CountingTun(), (_, _) => bindA, clock);
        var b = new Device(tunB, (_, _) => bindB, clock);
        bindA.Peer = b;
        bindB.Peer = a;
        DeviceJoin.Join(a, b, [127, 0, 0, 1]);

        var batch = new PacketBuffer[4];
        byte[] packet = Ip.V4("10.0.0.1", "10.0.0.2", 1400);
        for (int i = 0; i < batch.Length; i++)
            batch[i] = new PacketBuffer();
        void SendBatch()
        {
            foreach (PacketBuffer p in batch)
            {
                p.Reset();
                packet.CopyTo(p.Data.AsSpan(PacketBuffer.Headroom));
                p.Length = packet.Length;
            }
            a.HandleTunPackets(batch);
            while (bindA.Pump() | bindB.Pump())
            {
            }
        }

        for (int i = 0; i < 200; i++) // handshake, warm-up, JIT
            SendBatch();
        // Tiered JIT can still allocate a little on this thread while it swaps code in: the best of a few windows
        // must be exactly zero.
        long best = long.MaxValue;
        long delivered = tunB.Packets;
        for (int window = 0; window < 5 && best != 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 500; i++)
                SendBatch();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(tunB.Packets - delivered >= 2000);
        Assert.Equal(0, best);
    }
}
