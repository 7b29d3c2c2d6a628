using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Router.Tunnel.IO;
using Router.Tunnel.Noise;

namespace Router.Tunnel.Tests;

/// <summary>Threaded mode's parallel crypto: per-peer order kept, keys never zeroed under a worker.</summary>
public sealed class DevicePipelineTests
{
    private static (Device A, Device B, FakeTun TunA, FakeTun TunB, FakeNetwork Net, PeerConfig ToB) Pair(int workers, int inlineJobs = 8, bool lossless = true)
    {
        var net = new FakeNetwork { AutoDeliver = true };
        var tunA = new FakeTun();
        var tunB = new FakeTun();
        var a = new Device(tunA, (port, _) => net.Open([127, 0, 0, 1], port)) { CryptoWorkers = workers, InlineJobs = inlineJobs, DropWhenPipelineFull = !lossless };
        var b = new Device(tunB, (port, _) => net.Open([127, 0, 0, 2], port)) { CryptoWorkers = workers, InlineJobs = inlineJobs, DropWhenPipelineFull = !lossless };
        var toB = DeviceJoin.Join(a, b, [127, 0, 0, 2]);
        return (a, b, tunA, tunB, net, toB);
    }

    private static byte[] Numbered(int sequence, int size)
    {
        byte[] packet = Ip.V4("10.0.0.1", "10.0.0.2", size);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(20), sequence);
        return packet;
    }

    /// <summary>One packet through, so the next ones are not staged (and some dropped) waiting for a handshake.</summary>
    private static void EstablishSession(FakeTun tunA, FakeTun tunB)
    {
        tunA.ToRead.Add(Numbered(-1, 64));
        var watch = Stopwatch.StartNew();
        while (tunB.Written.IsEmpty && watch.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(5);
        Assert.Single(tunB.TakeWritten());
    }

    [Theory]
    [InlineData(0)] // every batch to a worker
    [InlineData(8)] // small batches on the reader while workers are idle, mixed with worker batches
    public void PacketsOfOnePeerArriveInTheOrderTheyWereRead(int inlineJobs)
    {
        // More workers than cores, packets of mixed sizes: workers finish out of order, the rings must not.
        var (a, b, tunA, tunB, _, _) = Pair(workers: 4, inlineJobs);
        using (a)
        using (b)
        {
            a.Start();
            b.Start();
            EstablishSession(tunA, tunB);
            const int Count = 5000;
            for (int i = 0; i < Count; i++)
                tunA.ToRead.Add(Numbered(i, 40 + (i * 37) % 1300));
            var watch = Stopwatch.StartNew();
            var received = new List<byte[]>();
            while (received.Count < Count && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                received.AddRange(tunB.TakeWritten());
                Thread.Sleep(5);
            }
            Assert.Equal(Count, received.Count);
            for (int i = 0; i < Count; i++)
            {
                Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(received[i].AsSpan(20)));
                Assert.Equal(Numbered(i, 40 + (i * 37) % 1300), received[i]);
            }
            Assert.Equal(0, b.Drops[DropReason.ReplayedCounter]);
            Assert.Equal(0, b.Drops[DropReason.DecryptFailed]);
        }
    }

    /// <summary>A bind whose sends wait while the gate is closed: a wire that has stopped draining.</summary>
    private sealed class GatedBind(FakeBind inner) : IBind
    {
        public readonly ManualResetEventSlim Gate = new(true);
        public ushort Port => inner.Port;
        public int BatchSize => inner.BatchSize;
        public int Receive(Span<PacketBuffer> packets) => inner.Receive(packets);

        public int Send(ReadOnlySpan<PacketBuffer> packets, Span<bool> sent)
        {
            Gate.Wait(TimeSpan.FromSeconds(30));
            return inner.Send(packets, sent);
        }

        public void Dispose()
        {
            Gate.Set();
            inner.Dispose();
        }
    }

    [Fact]
    public void AFullPipelineHoldsAtMostPipelineBytesAndDropsTheRest()
    {
        // The bufferbloat bound: with the wire stalled, A holds no more than its batches carry and drops what else
        // it reads (nothing waits unseen in the TUN); what it held leaves in order; an idle reader drops nothing.
        var net = new FakeNetwork { AutoDeliver = true };
        var tunA = new FakeTun();
        var tunB = new FakeTun();
        GatedBind? gated = null;
        const int Batches = 4, Bytes = 64 * 1024;
        var a = new Device(tunA, (port, _) => gated = new GatedBind(net.Open([127, 0, 0, 1], port)))
            { CryptoWorkers = 2, InlineJobs = 0, BatchesInFlight = Batches, PipelineBytes = Bytes, DropWhenPipelineFull = true };
        // B waits rather than drops (the default): this test measures what A drops.
        var b = new Device(tunB, (port, _) => net.Open([127, 0, 0, 2], port)) { CryptoWorkers = 2 };
        DeviceJoin.Join(a, b, [127, 0, 0, 2]);
        using (a)
        using (b)
        {
            a.Start();
            b.Start();
            EstablishSession(tunA, tunB);

            gated!.Gate.Reset();
            const int Count = 3000;
            for (int i = 0; i < Count; i++)
                tunA.ToRead.Add(Numbered(i, 1400));
            // Each batch carries Bytes / Batches / MTU packets; a lone packet read meanwhile may wait in the reader's.
            int held = Batches * (Bytes / Batches / tunA.Mtu) + 1;
            var watch = Stopwatch.StartNew();
            while (tunA.ToRead.Count > 0 && watch.Elapsed < TimeSpan.FromSeconds(30))
                Thread.Sleep(5);
            Thread.Sleep(200); // the last read is dropped or waits
            long dropped = a.Drops[DropReason.QueueFull];
            Assert.InRange(Count - dropped, Batches, held);
            gated.Gate.Set();

            var received = new List<byte[]>();
            watch.Restart();
            while (received.Count < Count - dropped && watch.Elapsed < TimeSpan.FromSeconds(30))
            {
                received.AddRange(tunB.TakeWritten());
                Thread.Sleep(5);
            }
            Assert.Equal(Count - dropped, received.Count);
            Assert.Equal(dropped, a.Drops[DropReason.QueueFull]); // nothing more was dropped once the wire moved
            for (int i = 1; i < received.Count; i++)
                Assert.True(BinaryPrimitives.ReadInt32BigEndian(received[i].AsSpan(20)) > BinaryPrimitives.ReadInt32BigEndian(received[i - 1].AsSpan(20)));

            // Idle again: the packet that wakes the reader is carried.
            Thread.Sleep(100);
            tunA.ToRead.Add(Numbered(Count, 64));
            watch.Restart();
            while (tunB.Written.IsEmpty && watch.Elapsed < TimeSpan.FromSeconds(10))
                Thread.Sleep(5);
            Assert.Single(tunB.TakeWritten());
            Assert.Equal(dropped, a.Drops[DropReason.QueueFull]);
        }
    }

    [Fact]
    public void KeysAreZeroedOnlyWhenTheLastWorkerReleasesThem()
    {
        var keypair = new Keypair(0, isInitiator: true, localIndex: 1, remoteIndex: 2);
        RandomNumberGenerator.Fill(keypair.SendKey);
        keypair.Acquire(); // a worker has it
        keypair.Retire(); // the session is replaced meanwhile
        Assert.False(keypair.IsValid);
        Assert.False(keypair.SendKey.IsZero);
        keypair.Retire(); // retiring twice drops the slot's reference once
        Assert.False(keypair.SendKey.IsZero);
        keypair.Release();
        Assert.True(keypair.SendKey.IsZero && keypair.ReceiveKey.IsZero);
    }

    [Fact]
    public void RetiringUnderConcurrentEncryptionNeverSealsWithZeroedKeys()
    {
        for (int round = 0; round < 20; round++)
        {
            var keypair = new Keypair(0, isInitiator: true, localIndex: 1, remoteIndex: 2);
            RandomNumberGenerator.Fill(keypair.SendKey);
            byte[] key = ((ReadOnlySpan<byte>)keypair.SendKey).ToArray();
            var gate = new Lock(); // stands for the device lock: references are taken under it, while valid
            int sealedCount = 0, bad = 0;
            var workers = new Thread[4];
            for (int w = 0; w < workers.Length; w++)
            {
                workers[w] = new Thread(() =>
                {
                    byte[] plain = new byte[256], sealedBytes = new byte[256 + 16], check = new byte[256];
                    for (ulong counter = 0; ; counter++)
                    {
                        lock (gate)
                        {
                            if (!keypair.IsValid)
                                return;
                            keypair.Acquire();
                        }
                        Router.Crypto.ChaCha20Poly1305.Encrypt(keypair.SendKey, counter, plain, [], sealedBytes);
                        keypair.Release();
                        if (!Router.Crypto.ChaCha20Poly1305.Decrypt(key, counter, sealedBytes, [], check))
                            Interlocked.Increment(ref bad);
                        Interlocked.Increment(ref sealedCount);
                    }
                });
                workers[w].Start();
            }
            while (Volatile.Read(ref sealedCount) < 200)
                Thread.Yield();
            lock (gate)
                keypair.Retire();
            foreach (Thread t in workers)
                t.Join();
            Assert.Equal(0, bad);
            Assert.True(keypair.SendKey.IsZero);
        }
    }

    [Fact]
    public void RemovingThePeerMidTransferDropsNothingAsUndecryptable()
    {
        // Packets in flight when the sender's keypairs are retired were sealed with the real keys: the receiver
        // (which still has its session) opens every one of them.
        var (a, b, tunA, tunB, _, toB) = Pair(workers: 4, inlineJobs: 0);
        using (a)
        using (b)
        {
            a.Start();
            b.Start();
            EstablishSession(tunA, tunB);
            var watch = Stopwatch.StartNew();
            for (int round = 0; round < 5; round++)
            {
                for (int i = 0; i < 2000; i++)
                    tunA.ToRead.Add(Numbered(i, 1400));
                Thread.Sleep(2);
                var remove = new DeviceConfig();
                remove.Peers.Add(new PeerConfig(toB.PublicKey) { Remove = true });
                a.Configure(remove); // retires A's keypairs while workers may be sealing with them
                var add = new DeviceConfig();
                add.Peers.Add(toB);
                a.Configure(add);
                while (tunA.ToRead.Count > 0 && watch.Elapsed < TimeSpan.FromSeconds(30))
                    Thread.Sleep(5);
            }
            Thread.Sleep(200);
            Assert.Equal(0, b.Drops[DropReason.DecryptFailed]);
            Assert.True(tunB.Written.Count > 1);
        }
    }
}
