using System.Diagnostics;

namespace Router.Tunnel;

/// <summary>
/// Time as the protocol sees it: a monotonic clock for every timer and a wall clock only for what is displayed
/// (last handshake time). Injected so the whole protocol runs on a <see cref="VirtualClock"/> in tests.
/// </summary>
public interface IClock
{
    /// <summary>Monotonic time in <see cref="TimeSpan"/> ticks since an arbitrary origin; never goes backwards.</summary>
    long Now { get; }

    /// <summary>Wall-clock time, for display only (wg show's "latest handshake").</summary>
    DateTime UtcNow { get; }
}

/// <summary>The real clocks: <see cref="Stopwatch"/> for timers, the system time for display.</summary>
public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();

    public long Now => Stopwatch.GetElapsedTime(0).Ticks;

    public DateTime UtcNow => DateTime.UtcNow;
}

/// <summary>A clock that moves only when told to; the wall clock follows it from a fixed start.</summary>
public sealed class VirtualClock : IClock
{
    private long _now = TimeSpan.FromHours(1).Ticks; // far from zero, so "never" (0) is always long ago
    private readonly DateTime _wallOrigin = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public long Now => Volatile.Read(ref _now);

    public DateTime UtcNow => _wallOrigin + TimeSpan.FromTicks(Now);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks);
}

/// <summary>
/// Source of the TAI64N timestamps carried in handshake initiations. A responder accepts an initiation only if
/// its timestamp is newer than the last one it accepted from that peer, so a board without a real-time clock must
/// keep these increasing across reboots (the daemon can persist a floor and inject its own source).
/// </summary>
public interface ITimestampSource
{
    /// <summary>Writes the current 12-byte TAI64N timestamp (whitening is applied by the caller).</summary>
    void WriteTai64N(Span<byte> destination12);
}

/// <summary>TAI64N from a clock's wall time.</summary>
public sealed class ClockTimestampSource(IClock clock) : ITimestampSource
{
    public void WriteTai64N(Span<byte> destination12) => Tai64N.Write(clock.UtcNow, destination12);
}
