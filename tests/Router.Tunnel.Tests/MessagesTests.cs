namespace Router.Tunnel.Tests;

public sealed class MessagesTests
{
    [Theory]
    [InlineData(1, 148, true, default(DropReason))]
    [InlineData(1, 147, false, DropReason.TooShort)]
    [InlineData(1, 149, false, DropReason.BadSize)]
    [InlineData(2, 92, true, default(DropReason))]
    [InlineData(2, 93, false, DropReason.BadSize)]
    [InlineData(3, 64, true, default(DropReason))]
    [InlineData(3, 63, false, DropReason.TooShort)]
    [InlineData(4, 32, true, default(DropReason))]
    [InlineData(4, 31, false, DropReason.TooShort)]
    [InlineData(4, 1500, true, default(DropReason))]
    [InlineData(5, 148, false, DropReason.UnknownType)]
    [InlineData(0, 148, false, DropReason.UnknownType)]
    [InlineData(0x0101, 148, false, DropReason.UnknownType)] // nonzero reserved byte
    public void ClassifiesByTypeAndExactSize(int type, int length, bool ok, DropReason reason)
    {
        var packet = new byte[length];
        BitConverter.TryWriteBytes(packet, type);
        Assert.Equal(ok, Messages.TryClassify(packet, out _, out DropReason actual));
        if (!ok)
            Assert.Equal(reason, actual);
    }

    [Fact]
    public void TooShortForAHeader() => Assert.False(Messages.TryClassify(new byte[3], out _, out var r) || r != DropReason.TooShort);

    [Theory]
    [InlineData(0, 1420, 0)]
    [InlineData(1, 1420, 16)]
    [InlineData(16, 1420, 16)]
    [InlineData(17, 1420, 32)]
    [InlineData(1419, 1420, 1420)] // never padded beyond the MTU
    [InlineData(1420, 1420, 1420)]
    [InlineData(1413, 1420, 1420)]
    [InlineData(1400, 1420, 1408)]
    public void PadsToSixteenWithinMtu(int length, int mtu, int expected) => Assert.Equal(expected, Messages.PaddedLength(length, mtu));

    [Fact]
    public void Tai64NIsWhitenedAndOrdered()
    {
        Span<byte> a = stackalloc byte[12];
        Span<byte> b = stackalloc byte[12];
        var t = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        Tai64N.Write(t.AddTicks(1), a);
        Tai64N.Whiten(a);
        Tai64N.Write(t.AddMilliseconds(5), b);
        Tai64N.Whiten(b);
        Assert.False(Tai64N.After(b, a)); // 5 ms apart: same 2^24 ns bucket
        Tai64N.Write(t.AddMilliseconds(40), b);
        Tai64N.Whiten(b);
        Assert.True(Tai64N.After(b, a));
        Assert.Equal(0x40, a[0]);
        Assert.Equal(0, a[11]); // low 24 bits of the nanoseconds cleared
        Assert.Equal(0, a[10]);
        Assert.Equal(0, a[9]);
    }
}
