using System.Runtime.InteropServices;

namespace Router.Tunnel;

/// <summary>
/// Token bucket per source address for handshake messages under load (kernel ratelimiter.c): 20 packets per
/// second with a burst of 5. IPv6 sources are grouped by /64, as one host usually owns a whole /64.
/// </summary>
/// <remarks>Not thread-safe: the device's handshake path serialises calls.</remarks>
internal sealed class RateLimiter(IClock clock)
{
    private static readonly long PacketCost = TimeSpan.TicksPerSecond / ImplementationConstants.RateLimiterPacketsPerSecond;
    private static readonly long TokenMax = PacketCost * ImplementationConstants.RateLimiterBurst;

    private struct Bucket
    {
        public long LastTime;
        public long Tokens;
    }

    private readonly Dictionary<UInt128, Bucket> _buckets = new();
    private long _lastGc;

    public int Count => _buckets.Count;

    /// <summary>True when a packet from <paramref name="source"/> (network-order address) may be processed now.</summary>
    public bool Allow(in IO.Endpoint source)
    {
        long now = clock.Now;
        if (now - _lastGc > ImplementationConstants.RateLimiterGcInterval.Ticks)
            CollectGarbage(now);

        UInt128 key = source.IsIPv4 ? source.Address : source.Address & Slash64Mask();
        if (!_buckets.ContainsKey(key) && _buckets.Count >= ImplementationConstants.RateLimiterMaxEntries)
            return false;
        ref Bucket bucket = ref CollectionsMarshal.GetValueRefOrAddDefault(_buckets, key, out bool existed);
        if (!existed)
        {
            bucket.LastTime = now;
            bucket.Tokens = TokenMax - PacketCost;
            return true;
        }
        bucket.Tokens = Math.Min(TokenMax, bucket.Tokens + (now - bucket.LastTime));
        bucket.LastTime = now;
        if (bucket.Tokens < PacketCost)
            return false;
        bucket.Tokens -= PacketCost;
        return true;
    }

    private void CollectGarbage(long now)
    {
        _lastGc = now;
        foreach (var (key, bucket) in _buckets)
        {
            if (now - bucket.LastTime > ImplementationConstants.RateLimiterGcInterval.Ticks)
                _buckets.Remove(key); // allowed while enumerating a Dictionary since .NET Core 3.0
        }
    }

    // Endpoint stores addresses in network order: the first 8 bytes in memory are the /64.
    private static UInt128 Slash64Mask() => BitConverter.IsLittleEndian ? new UInt128(0, ulong.MaxValue) : new UInt128(ulong.MaxValue, 0);
}
