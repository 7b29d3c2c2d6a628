using System.Buffers.Binary;

namespace Router.Tunnel;

/// <summary>
/// TAI64N labels (cr.yp.to/libtai/tai64.html): big-endian seconds since 1970 plus 2^62 + 10, then big-endian
/// nanoseconds. WireGuard rounds the nanoseconds down to a multiple of 2^24 so initiations leak no fine timing.
/// </summary>
internal static class Tai64N
{
    private const ulong Base = 0x400000000000000aUL;
    private const uint WhitenerMask = 0x1000000 - 1; // 2^24 ns, about 16.7 ms

    public static void Write(DateTime utc, Span<byte> destination12)
    {
        long sinceEpoch = (utc - DateTime.UnixEpoch).Ticks;
        ulong seconds = (ulong)(sinceEpoch / TimeSpan.TicksPerSecond);
        uint nanos = (uint)(sinceEpoch % TimeSpan.TicksPerSecond * 100);
        Write(seconds, nanos, destination12);
    }

    public static void Write(ulong unixSeconds, uint nanoseconds, Span<byte> destination12)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination12, Base + unixSeconds);
        BinaryPrimitives.WriteUInt32BigEndian(destination12[8..], nanoseconds);
    }

    /// <summary>Rounds the nanoseconds field down to a multiple of 2^24 in place.</summary>
    public static void Whiten(Span<byte> timestamp12)
    {
        uint nanos = BinaryPrimitives.ReadUInt32BigEndian(timestamp12[8..]);
        BinaryPrimitives.WriteUInt32BigEndian(timestamp12[8..], nanos & ~WhitenerMask);
    }

    /// <summary>True when <paramref name="a"/> is strictly later than <paramref name="b"/> (big-endian compare).</summary>
    public static bool After(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a[..12].SequenceCompareTo(b[..12]) > 0;
}
