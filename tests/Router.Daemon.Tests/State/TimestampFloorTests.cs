using Router.Daemon.State;

namespace Router.Daemon.Tests.State;

/// <summary>A clock for tests: wall time and monotonic time move only when told, and the wall can jump back.</summary>
internal sealed class ManualTime(DateTimeOffset wall) : TimeProvider
{
    private long _monotonicTicks;

    public DateTimeOffset Wall { get; set; } = wall;

    public void Advance(TimeSpan by)
    {
        Wall += by;
        _monotonicTicks += by.Ticks;
    }

    public override DateTimeOffset GetUtcNow() => Wall;

    public override long GetTimestamp() => _monotonicTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
}

public sealed class TimestampFloorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TimestampsKeepIncreasingAcrossARebootWithTheClockSetBack()
    {
        string file = _dir.File("state/timestamp-floor");
        var before = new ManualTime(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var floor = new TimestampFloor(file, before);
        long last = 0;
        for (int i = 0; i < 100; i++)
        {
            long t = floor.NextUnixNanoseconds();
            Assert.True(t > last);
            last = t;
            before.Advance(TimeSpan.FromMinutes(2)); // a handshake every two minutes for over three hours
        }

        // Power cut; the Pi boots with no RTC: its clock says 1970 (or the image's build date).
        var after = new ManualTime(DateTimeOffset.UnixEpoch.AddDays(1));
        var rebooted = new TimestampFloor(file, after);
        long first = rebooted.NextUnixNanoseconds();
        Assert.True(first > last, "the first timestamp after reboot must be newer than every one before it");
        after.Advance(TimeSpan.FromSeconds(5));
        long second = rebooted.NextUnixNanoseconds();
        Assert.True(second >= first + 5_000_000_000L, "after boot the floor advances with monotonic time");

        // NTP answers: the wall clock jumps forward and takes over.
        after.Wall = new DateTimeOffset(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
        long synced = rebooted.NextUnixNanoseconds();
        Assert.Equal(after.Wall.ToUnixTimeMilliseconds() * 1_000_000, synced);
    }

    [Fact]
    public void FloorIsWrittenRarelyNotOnEveryHandshake()
    {
        string file = _dir.File("floor");
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var floor = new TimestampFloor(file, time, TimeSpan.FromHours(1));
        floor.NextUnixNanoseconds();
        DateTime written = File.GetLastWriteTimeUtc(file);
        string content = File.ReadAllText(file);
        for (int i = 0; i < 20; i++)
        {
            time.Advance(TimeSpan.FromMinutes(2));
            floor.NextUnixNanoseconds();
        }
        Assert.Equal(content, File.ReadAllText(file)); // 40 minutes: still inside the reserved hour
        time.Advance(TimeSpan.FromMinutes(30));
        floor.NextUnixNanoseconds();
        Assert.NotEqual(content, File.ReadAllText(file));
        _ = written;
    }

    [Fact]
    public void SameInstantStillGivesStrictlyIncreasingValues()
    {
        var time = new ManualTime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var floor = new TimestampFloor(_dir.File("floor"), time);
        long a = floor.NextUnixNanoseconds();
        long b = floor.NextUnixNanoseconds();
        Assert.True(b > a);
    }

    [Fact]
    public void Tai64NHasTheWireGuardLayout()
    {
        Span<byte> tai = stackalloc byte[12];
        TimestampFloor.WriteTai64N(1_700_000_000L * 1_000_000_000 + 123, tai);
        Assert.Equal(0x400000000000000AUL + 1_700_000_000UL, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(tai));
        Assert.Equal(123u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(tai[8..]));
    }
}
