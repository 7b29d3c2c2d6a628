using Router.Tunnel.IO;
using Router.Tunnel.Noise;

namespace Router.Tunnel;

/// <summary>
/// One TUN read or one UDP receive on its way through the crypto workers. The device fills it under its lock
/// (routing, counters, keypair references), a worker encrypts or decrypts its jobs outside the lock, and the
/// <see cref="OrderedRing"/> hands it on in the order it was published.
/// </summary>
/// <remarks>
/// Packets <c>[0, Jobs)</c> need crypto, in wire order; the rest of <see cref="Packets"/> are spare buffers of this
/// batch. Owned by exactly one stage at a time: dispatch, worker, drain, pool.
/// </remarks>
internal sealed class CryptoBatch
{
    /// <summary>The batch's own buffers (reused for every trip; swapped within the array, never given away).</summary>
    public readonly PacketBuffer[] Packets;
    /// <summary>The keypair of each job, with one reference held for the worker (released after the crypto).</summary>
    public readonly Keypair?[] Keypairs;
    /// <summary>The peer of each job (receive: the one its index named; send: the one its tx bytes were counted to).</summary>
    public readonly Peer?[] Peers;
    /// <summary>Receive: whether each job authenticated.</summary>
    public readonly bool[] Opened;
    /// <summary>True for the send direction (encrypt), false for receive (decrypt).</summary>
    public readonly bool IsSend;
    /// <summary>How many leading packets are jobs.</summary>
    public int Jobs;
    // Set by the worker after the crypto (release), read by the ring's drainer (acquire).
    private volatile bool _done;

    public CryptoBatch(bool isSend, int size, int capacity)
    {
        IsSend = isSend;
        Packets = new PacketBuffer[size];
        for (int i = 0; i < size; i++)
            Packets[i] = new PacketBuffer(capacity);
        Keypairs = new Keypair?[size];
        Peers = new Peer?[size];
        Opened = new bool[size];
    }

    public bool Done
    {
        get => _done;
        set => _done = value;
    }

    /// <summary>The smallest buffer capacity in the batch (a TUN may have swapped in larger ones).</summary>
    public int Capacity
    {
        get
        {
            int smallest = int.MaxValue;
            foreach (PacketBuffer packet in Packets)
                smallest = Math.Min(smallest, packet.Capacity);
            return smallest;
        }
    }

    /// <summary>Makes <c>Packets[index]</c> the next job (order kept: jobs are appended as the caller walks forward).</summary>
    public void AddJob(int index, Keypair keypair, Peer? peer)
    {
        int job = Jobs++;
        if (job != index)
            (Packets[job], Packets[index]) = (Packets[index], Packets[job]);
        Keypairs[job] = keypair;
        Peers[job] = peer;
        Opened[job] = false;
    }

    /// <summary>Forgets the jobs (references must already be released) and resets the buffers for the next trip.</summary>
    public void Clear()
    {
        Keypairs.AsSpan(0, Jobs).Clear();
        Peers.AsSpan(0, Jobs).Clear();
        Jobs = 0;
        _done = false;
        foreach (PacketBuffer packet in Packets)
            packet.Reset();
    }
}

/// <summary>
/// A fixed set of <see cref="CryptoBatch"/>es: the bound on what is in flight in one direction of the pipeline.
/// The readers take one with <see cref="TryRent"/> after each read and drop the read when none is free
/// (Device.Threads.cs says why dropping, not waiting).
/// </summary>
/// <remarks>Thread-safe. Allocates only when the MTU outgrows the buffers.</remarks>
internal sealed class BatchPool
{
    private readonly CryptoBatch[] _free;
    private readonly SemaphoreSlim _available;
    private readonly Lock _lock = new();
    private readonly bool _isSend;
    private readonly int _size;
    private int _count;

    public BatchPool(bool isSend, int batches, int size, int capacity)
    {
        _isSend = isSend;
        _size = size;
        _free = new CryptoBatch[batches];
        for (int i = 0; i < batches; i++)
            _free[i] = new CryptoBatch(isSend, size, capacity);
        _count = batches;
        _available = new SemaphoreSlim(batches, batches);
    }

    public int Batches => _free.Length;

    /// <summary>Waits for a free batch whose buffers hold <paramref name="capacity"/> bytes (a new one if they are smaller).</summary>
    public CryptoBatch Rent(int capacity)
    {
        _available.Wait();
        return Take(capacity);
    }

    /// <summary>A free batch as <see cref="Rent"/> gives, or null at once when every batch is in flight.</summary>
    public CryptoBatch? TryRent(int capacity) => _available.Wait(0) ? Take(capacity) : null;

    private CryptoBatch Take(int capacity)
    {
        CryptoBatch batch;
        lock (_lock)
            batch = _free[--_count];
        if (batch.Capacity < capacity)
            batch = new CryptoBatch(_isSend, _size, capacity); // the MTU went up: the old buffers are garbage now
        return batch;
    }

    public void Return(CryptoBatch batch)
    {
        batch.Clear();
        lock (_lock)
            _free[_count++] = batch;
        _available.Release();
    }
}

/// <summary>
/// Batches in the order they were published, handed to the drain action in that order however the workers finish
/// them (an in-order completion ring, as wireguard-go's per-peer sequential queues and the kernel's ordered
/// ptr_ring). Whichever worker completes the head drains every consecutive finished batch; the others go back to work.
/// </summary>
/// <remarks>One publisher; any number of completing threads; one drainer at a time. Capacity is at least the pool's.</remarks>
internal sealed class OrderedRing
{
    private readonly CryptoBatch?[] _slots;
    private readonly int _mask;
    private readonly Action<CryptoBatch> _drain;
    private long _head; // next to drain; only the drainer moves it
    private long _tail; // next to publish; only the publisher moves it
    private int _draining;

    public OrderedRing(int minimumCapacity, Action<CryptoBatch> drain)
    {
        int capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, minimumCapacity));
        _slots = new CryptoBatch?[capacity];
        _mask = capacity - 1;
        _drain = drain;
    }

    /// <summary>Appends <paramref name="batch"/> (the pool bounds how many are in flight, so a slot is free).</summary>
    public void Publish(CryptoBatch batch)
    {
        long tail = _tail;
        Volatile.Write(ref _slots[tail & _mask], batch);
        Volatile.Write(ref _tail, tail + 1);
    }

    /// <summary>Call after marking a batch done: drains the finished prefix unless another thread is draining it.</summary>
    public void Drain()
    {
        while (Interlocked.CompareExchange(ref _draining, 1, 0) == 0)
        {
            while (_head < Volatile.Read(ref _tail))
            {
                CryptoBatch batch = Volatile.Read(ref _slots[_head & _mask])!;
                if (!batch.Done)
                    break;
                _slots[_head & _mask] = null;
                _head++;
                _drain(batch);
            }
            Volatile.Write(ref _draining, 0);
            // A batch that finished after our last look, while we still held the role, has no one else to drain it.
            long head = Volatile.Read(ref _head);
            if (head >= Volatile.Read(ref _tail) || Volatile.Read(ref _slots[head & _mask]) is not { Done: true })
                return;
        }
    }
}

/// <summary>Batches waiting for a crypto worker (both directions share the workers). A null item stops one worker.</summary>
/// <remarks>Thread-safe; a preallocated ring, so adding and taking allocate nothing.</remarks>
internal sealed class WorkQueue(int capacity)
{
    private readonly CryptoBatch?[] _items = new CryptoBatch?[capacity];
    private readonly SemaphoreSlim _count = new(0);
    private readonly Lock _lock = new();
    private int _head, _length;

    /// <summary>Nothing waits for a worker (a racy hint: good enough to decide whether to hand work off).</summary>
    public bool IsEmpty => Volatile.Read(ref _length) == 0;

    public void Add(CryptoBatch? batch)
    {
        lock (_lock)
        {
            if (_length == _items.Length)
                throw new InvalidOperationException("More batches in flight than the work queue holds.");
            _items[(_head + _length++) % _items.Length] = batch;
        }
        _count.Release();
    }

    public CryptoBatch? Take()
    {
        _count.Wait();
        lock (_lock)
        {
            CryptoBatch? batch = _items[_head];
            _items[_head] = null;
            _head = (_head + 1) % _items.Length;
            _length--;
            return batch;
        }
    }
}
