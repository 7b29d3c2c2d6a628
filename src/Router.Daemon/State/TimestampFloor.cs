using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Router.Daemon.Config;

namespace Router.Daemon.State;

/// <summary>
/// Handshake timestamps that keep increasing across reboots on a board without a real-time clock. A responder drops
/// an initiation whose TAI64N timestamp is not newer than the last it accepted from us (whitepaper 5.1), so a Pi that
/// boots with its clock in the past would be locked out until NTP answers. Rather than write on every handshake,
/// this reserves time ahead: it persists "nothing up to T was handed out" with T = now + interval, rewriting only when
/// a timestamp reaches T (about hourly). After a reboot the floor starts at T and advances with the monotonic clock
/// until the wall clock overtakes it.
/// Thread-safe.
/// </summary>
internal sealed class TimestampFloor
{
    public static readonly TimeSpan DefaultPersistInterval = TimeSpan.FromHours(1);

    private const long NanosecondsPerTick = 100;

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly long _intervalNs;
    private readonly long _floorAtStartNs;
    private readonly long _monotonicStart;
    private readonly Lock _lock = new();
    private long _lastNs;
    private long _reservedNs;

    public TimestampFloor(string path, TimeProvider? time = null, TimeSpan? persistInterval = null)
    {
        _path = path;
        _time = time ?? TimeProvider.System;
        _intervalNs = (long)((persistInterval ?? DefaultPersistInterval).Ticks * NanosecondsPerTick);
        _floorAtStartNs = ReadFloor(path);
        _reservedNs = _floorAtStartNs;
        _monotonicStart = _time.GetTimestamp();
    }

    /// <summary>The floor read from disk at start (nanoseconds since the Unix epoch; 0 if none).</summary>
    public long FloorAtStart => _floorAtStartNs;

    /// <summary>The last failure to persist, if any (read-only filesystem, full disk); timestamps are still returned.</summary>
    public Exception? LastPersistError { get; private set; }

    /// <summary>
    /// A timestamp strictly greater than every one returned before, in this run or an earlier one whose floor
    /// reached disk: max(wall clock, floor + monotonic time since start, previous + 1 ns). Nanoseconds since the Unix epoch.
    /// </summary>
    public long NextUnixNanoseconds()
    {
        lock (_lock)
        {
            long wall = (_time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * NanosecondsPerTick;
            long monotonic = _floorAtStartNs + (long)(_time.GetElapsedTime(_monotonicStart).Ticks * NanosecondsPerTick);
            long now = Math.Max(Math.Max(wall, monotonic), _lastNs + 1);
            if (now >= _reservedNs)
                Reserve(now + _intervalNs);
            _lastNs = now;
            return now;
        }
    }

    /// <summary>Writes the next timestamp as TAI64N (12 bytes: big-endian TAI seconds with 2^62 + 10 added, then nanoseconds).</summary>
    public void NextTai64N(Span<byte> destination) => WriteTai64N(NextUnixNanoseconds(), destination);

    public static void WriteTai64N(long unixNanoseconds, Span<byte> destination)
    {
        const ulong Tai64Base = 0x400000000000000A; // 2^62 + 10 leap-second offset, as WireGuard implementations use
        BinaryPrimitives.WriteUInt64BigEndian(destination, Tai64Base + (ulong)(unixNanoseconds / 1_000_000_000));
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)(unixNanoseconds % 1_000_000_000));
    }

    private void Reserve(long untilNs)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
            AtomicFile.Write(_path, Encoding.ASCII.GetBytes(untilNs.ToString(CultureInfo.InvariantCulture) + "\n"));
            _reservedNs = untilNs;
            LastPersistError = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Keep serving timestamps (a handshake matters more); the next call retries the write.
            LastPersistError = e;
        }
    }

    // A floor is one decimal number: anything else (missing, not a regular file, too large) counts as no floor.
    private static long ReadFloor(string path)
        => RegularFile.Read(path, FloorMaxSize).Bytes is byte[] text
           && long.TryParse(Encoding.ASCII.GetString(text).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long ns) ? ns : 0;

    private const int FloorMaxSize = 64;
}
