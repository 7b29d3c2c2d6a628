using Router.Tunnel.IO;
using Router.Tunnel.Noise;

namespace Router.Tunnel;

// Threaded mode for the daemon: reader threads do the protocol under the device lock, crypto workers (one per core)
// do the AEAD outside it, and an in-order drain puts packets back on the wire / the TUN in the order they were read.
//
//   wg-tun-read     ITun.Read (batch) -> routing, counters, headers (lock) --+--> send ring (publish order)
//   wg-udp-receive  IBind.Receive     -> index -> keypair (lock) ------------+--> receive ring
//                                        \--> mac1 -> handshake queue        \--> work queue
//   wg-handshake    handshake queue (own lock) -> cookies, rate limits; Noise (lock, one message at a time)
//                                      -> UDP send (Device.Handshakes.cs)
//   wg-crypto-N     work queue -> Encrypt / Open each job -> release keypair refs -> mark batch done
//                   -> drain the finished head of its ring:
//                        send:    IBind.Send (sendmmsg) of the batch, in counter order
//                        receive: replay window, roaming, timers, allowed IPs (lock) -> ITun.Write (batch)
//   wg-timers       every 100 ms -> Tick
//
// Every packet of a peer goes through the same reader and the same ring, so per-peer order is kept (the rings keep
// the global order, which implies it).
//
// Queue bound (bufferbloat). Each direction has BatchesInFlight batches, and a batch carries at most
// PipelineBytes / BatchesInFlight bytes, so one direction never holds more than PipelineBytes. A reader that finds
// every batch in flight either waits for one or, with DropWhenPipelineFull (what routerd runs), drops that read
// (DropReason.QueueFull): a tail drop at a bounded queue, as the kernel's full MAX_QUEUED_PACKETS ring drops.
// Waiting only moves the queue out of sight: the TUN queue orphans its packets (tun_net_xmit), so TCP's small-queue
// limit never applies, and with TSO each of its 500 slots holds a 64 KiB super-packet, so TCP fills it up to its
// receive window; on the UDP side it queues in the 7 MiB socket buffer. The size of the bound is the trade: measured
// on 2 quiet cores with the offloads on (ping every 0.1 s under 4 TCP streams, routerd<->routerd), waiting gave
// 2.0-2.7 Gbit/s with the ping at 6-7 ms; dropping at 4 batches / 1 MiB 1.6-1.8 Gbit/s at 1.4-1.6 ms (TCP loses whole
// TSO bursts); at 8 batches / 2 MiB 2.1-2.5 Gbit/s at 3.6 ms; at 16 / 4 MiB 2.5-2.7 at 6.4 ms. The defaults are the
// middle one: wireguard-go 2023's throughput and more, at a ping under load below wireguard-go 2022's.
// A read of one packet never drops: nothing stands queued behind it (a ping, a handshake); it waits instead.
public sealed partial class Device
{
    private readonly ManualResetEventSlim _stopping = new(false);
    private Thread? _tunThread, _udpThread, _timerThread;
    private Thread[] _workers = [];
    private BatchPool? _sendBatches, _receiveBatches;
    private OrderedRing? _sendRing, _receiveRing;
    private WorkQueue? _work;
    // Used only by the thread holding the receive ring's drain role.
    private readonly Outbox _drainOutbox = new();
    private PacketBuffer[] _drainDelivered = [];

    /// <summary>Crypto worker threads in threaded mode (defaults to the processor count).</summary>
    public int CryptoWorkers { get; init; } = Environment.ProcessorCount;

    /// <summary>Batches in flight per direction in threaded mode (each holds up to the TUN's or bind's batch size).</summary>
    public int BatchesInFlight { get; init; } = DefaultBatchesInFlight;

    /// <summary>Four per core, at least eight: enough for every worker to hold one while the readers fill the next.</summary>
    public static int DefaultBatchesInFlight => Math.Max(8, 4 * Environment.ProcessorCount);

    /// <summary>
    /// Bytes of packets in flight per direction in threaded mode, at most (see the header): 11 ms of a 1.5 Gbit/s
    /// flow, about 1,500 packets at MTU 1420, the order of the kernel's 1024-packet ring. At least one packet per batch
    /// is always carried, whatever the MTU.
    /// </summary>
    public int PipelineBytes { get; init; } = DefaultPipelineBytes;

    public const int DefaultPipelineBytes = 2 * 1024 * 1024;

    /// <summary>
    /// The readers drop what they read when every batch is in flight, instead of waiting for one (see the header).
    /// routerd turns it on; in-memory pipelines whose source has no congestion control leave it off.
    /// </summary>
    public bool DropWhenPipelineFull { get; init; }

    /// <summary>Packets one batch may carry so that <see cref="PipelineBytes"/> holds for packets of <paramref name="size"/> bytes.</summary>
    private int PacketsPerBatch(int size, int batchSize) =>
        Math.Clamp(PipelineBytes / Math.Max(1, BatchesInFlight) / Math.Max(1, size), 1, batchSize);

    /// <summary>Raised (on the failing thread) when a worker thread stops on an unexpected exception.</summary>
    public event Action<Exception>? Faulted;

    /// <summary>Binds if needed and starts the reader, handshake, timer and crypto threads.</summary>
    public void Start()
    {
        if (_tunThread is not null)
            throw new InvalidOperationException("The device is already running.");
        Bind();
        int tunBatch = Math.Max(1, _tun.BatchSize);
        int bindBatch = Math.Max(1, Volatile.Read(ref _bind)?.BatchSize ?? 128);
        _drainDelivered = new PacketBuffer[bindBatch];
        // One batch more than may be in flight: the one each reader holds to read into.
        int batches = Math.Max(1, BatchesInFlight) + 1;
        _sendBatches = new BatchPool(isSend: true, batches, tunBatch, SendBufferCapacity());
        _receiveBatches = new BatchPool(isSend: false, batches, bindBatch, PacketBuffer.MaxPayload);
        _sendRing = new OrderedRing(batches, DrainSent);
        _receiveRing = new OrderedRing(batches, DrainReceived);
        _work = new WorkQueue(2 * batches + Math.Max(1, CryptoWorkers));
        _workers = new Thread[Math.Max(1, CryptoWorkers)];
        for (int i = 0; i < _workers.Length; i++)
            _workers[i] = StartThread($"wg-crypto-{i}", CryptoLoop);
        StartHandshakeThread(); // before the UDP thread, which hands it the handshakes from then on
        _tunThread = StartThread("wg-tun-read", TunLoop);
        _udpThread = StartThread("wg-udp-receive", UdpLoop);
        _timerThread = StartThread("wg-timers", TimerLoop);
    }

    /// <summary>
    /// Stops the threads: closes the TUN and the bind (which unblocks their reads) and waits for the threads.
    /// The device cannot be started again.
    /// </summary>
    public void Stop()
    {
        if (_stopping.IsSet)
            return;
        _stopping.Set();
        _handshakesWaiting.Set();
        _tun.Dispose();
        IBind? bind;
        lock (_lock)
        {
            bind = _bind;
            _bind = null;
        }
        bind?.Dispose();
        _tunThread?.Join();
        _udpThread?.Join();
        _timerThread?.Join();
        _handshakeThread?.Join();
        // The readers are gone: what is queued still finishes (releasing its keypair references), then workers stop.
        foreach (Thread _ in _workers)
            _work!.Add(null);
        foreach (Thread worker in _workers)
            worker.Join();
    }

    private Thread StartThread(string name, Action loop)
    {
        var thread = new Thread(() => Run(loop)) { Name = name, IsBackground = true };
        thread.Start();
        return thread;
    }

    private void Run(Action loop)
    {
        try
        {
            loop();
        }
        catch (Exception e) when (!_stopping.IsSet)
        {
            Faulted?.Invoke(e);
        }
        catch (ObjectDisposedException)
        {
            // closed by Stop while blocked
        }
    }

    /// <summary>TUN buffers hold the MTU (the kernel never hands a TUN reader more), rounded up; small RSS.</summary>
    private int SendBufferCapacity() => Math.Min(PacketBuffer.MaxPayload, (Mtu + 511) & ~511);

    /// <summary>
    /// Reads the TUN into the batch in hand, then trades it for a free one; with every batch in flight, the read is
    /// dropped (the header says why). Deciding after the read means a reader that slept through an idle spell never
    /// drops what wakes it.
    /// </summary>
    private void TunLoop()
    {
        BatchPool pool = _sendBatches!;
        CryptoBatch batch = pool.Rent(SendBufferCapacity());
        while (!_stopping.IsSet)
        {
            int limit = PacketsPerBatch(Mtu, batch.Packets.Length);
            int count = _tun.Read(batch.Packets.AsSpan(0, limit));
            if (count <= 0)
                break;
            CryptoBatch? next = pool.TryRent(SendBufferCapacity());
            if (next is null && count > 1 && DropWhenPipelineFull)
            {
                for (int i = 0; i < count; i++)
                    _drops.Increment(DropReason.QueueFull); // full: this read goes (see the header)
                batch.Clear();
                continue;
            }
            next ??= pool.Rent(SendBufferCapacity()); // a lone packet waits: nothing is queued behind it
            RouteTunPackets(batch.Packets.AsSpan(0, count), batch);
            Submit(batch, pool, _sendRing!);
            batch = next;
        }
        pool.Return(batch);
    }

    /// <summary>As <see cref="TunLoop"/>: a receive with every batch in flight keeps its handshakes, drops its data.</summary>
    private void UdpLoop()
    {
        BatchPool pool = _receiveBatches!;
        CryptoBatch batch = pool.Rent(0);
        while (!_stopping.IsSet)
        {
            IBind? bind = Volatile.Read(ref _bind);
            if (bind is null)
            {
                _stopping.Wait(ImplementationConstants.TimerResolution);
                continue;
            }
            int limit = PacketsPerBatch(Mtu + TransportOverhead, Math.Min(batch.Packets.Length, Math.Max(1, bind.BatchSize)));
            int count;
            try
            {
                count = bind.Receive(batch.Packets.AsSpan(0, limit));
            }
            catch (ObjectDisposedException)
            {
                batch.Clear();
                continue; // rebound by Configure: pick up the new bind
            }
            if (count <= 0)
            {
                batch.Clear();
                if (ReferenceEquals(bind, Volatile.Read(ref _bind)) && !_stopping.IsSet)
                    _stopping.Wait(ImplementationConstants.TimerResolution); // closed under us; avoid spinning
                continue;
            }
            CryptoBatch? next = pool.TryRent(0);
            if (next is null && count > 1 && DropWhenPipelineFull)
            {
                // Full: the read's transport messages go; its handshakes still count, or a flood of data could keep
                // a session from ever forming.
                ClassifyDatagrams(batch.Packets.AsSpan(0, count), batch, pipelineFull: true);
                batch.Clear();
                continue;
            }
            next ??= pool.Rent(0); // a lone datagram waits: nothing is queued behind it
            ClassifyDatagrams(batch.Packets.AsSpan(0, count), batch);
            Submit(batch, pool, _receiveRing!);
            batch = next;
        }
        pool.Return(batch);
    }

    /// <summary>What a transport message adds to the inner packet: header, padding to 16 at most, tag.</summary>
    private const int TransportOverhead = ProtocolConstants.TransportHeaderSize + ProtocolConstants.PaddingMultiple + ProtocolConstants.TagSize;

    /// <summary>
    /// Hands a batch with jobs on (publish first: the ring's order is the wire order). A small batch while no
    /// worker has a backlog is sealed or opened right here: a hand-off costs two wake-ups, which is most of a
    /// ping's round trip on a busy machine, and the workers only pay off once the reader falls behind.
    /// </summary>
    private void Submit(CryptoBatch batch, BatchPool pool, OrderedRing ring)
    {
        if (batch.Jobs == 0)
        {
            pool.Return(batch);
            return;
        }
        ring.Publish(batch);
        if (batch.Jobs <= InlineJobs && _work!.IsEmpty)
            Process(batch);
        else
            _work!.Add(batch);
    }

    /// <summary>
    /// Largest batch the reader seals or opens itself when no batch waits for a worker (latency: pings, ACKs).
    /// Larger batches always go to the workers, so crypto spreads over the cores under load.
    /// </summary>
    public int InlineJobs { get; init; } = 8;

    private void CryptoLoop()
    {
        WorkQueue work = _work!;
        while (work.Take() is { } batch)
            Process(batch);
    }

    /// <summary>The crypto of one batch, then the in-order drain of its ring.</summary>
    private void Process(CryptoBatch batch)
    {
        if (batch.IsSend)
        {
            for (int i = 0; i < batch.Jobs; i++)
            {
                Keypair keypair = batch.Keypairs[i]!;
                Encrypt(keypair, batch.Packets[i]);
                keypair.Release();
            }
            batch.Done = true;
            _sendRing!.Drain();
        }
        else
        {
            for (int i = 0; i < batch.Jobs; i++)
            {
                Keypair keypair = batch.Keypairs[i]!;
                batch.Opened[i] = Open(keypair, batch.Packets[i]);
                keypair.Release();
            }
            batch.Done = true;
            _receiveRing!.Drain();
        }
    }

    /// <summary>Send ring, in order: the batch's sealed messages leave in one batched send.</summary>
    private void DrainSent(CryptoBatch batch)
    {
        IBind? bind = Volatile.Read(ref _bind);
        if (bind is not null)
        {
            ReadOnlySpan<PacketBuffer> messages = batch.Packets.AsSpan(0, batch.Jobs);
            int size = Math.Min(Math.Max(1, bind.BatchSize), Math.Max(1, messages.Length));
            Span<bool> sent = size <= 256 ? stackalloc bool[size] : new bool[size];
            for (int i = 0; i < messages.Length; i += size)
            {
                int n = Math.Min(size, messages.Length - i);
                if (bind.Send(messages.Slice(i, n), sent[..n]) < n)
                    Outbox.UncountUnsent(_lock, messages.Slice(i, n), batch.Peers.AsSpan(i, n), sent[..n]);
            }
        }
        _sendBatches!.Return(batch);
    }

    /// <summary>Receive ring, in order: replay window and bookkeeping under the lock, then one batched TUN write.</summary>
    private void DrainReceived(CryptoBatch batch)
    {
        Outbox outbox = _drainOutbox;
        int delivered = 0;
        PacketBuffer[] deliver = _drainDelivered;
        if (deliver.Length < batch.Jobs)
            _drainDelivered = deliver = new PacketBuffer[batch.Jobs];
        lock (_lock)
        {
            long now = _clock.Now;
            for (int i = 0; i < batch.Jobs; i++)
            {
                PacketBuffer datagram = batch.Packets[i];
                if (AcceptTransport(batch.Peers[i]!, batch.Keypairs[i]!, datagram, batch.Opened[i], now, outbox))
                    deliver[delivered++] = datagram;
            }
        }
        if (delivered > 0)
        {
            int size = Math.Max(1, _tun.BatchSize);
            for (int i = 0; i < delivered; i += size)
                _tun.Write(deliver.AsSpan(i, Math.Min(size, delivered - i)));
            deliver.AsSpan(0, delivered).Clear();
        }
        Flush(outbox);
        _receiveBatches!.Return(batch);
    }

    private void TimerLoop()
    {
        while (!_stopping.Wait(ImplementationConstants.TimerResolution))
            Tick();
    }

}
