namespace Router.Crypto.Tests;

public sealed class Key32Tests
{
    [Fact]
    public void EqualityComparesBytes()
    {
        var a = new Key32(Hex.Sequence(32));
        var b = new Key32(Hex.Sequence(32));
        var c = new Key32(Hex.Sequence(32, 1));
        Assert.True(a == b);
        Assert.True(a.Equals((object)b));
        Assert.False(a == c);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void ToStringNeverShowsTheBytes()
    {
        var key = new Key32(Hex.Sequence(32, 0xA0));
        string text = key.ToString();
        Assert.DoesNotContain("a0a1", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("oKGi", text, StringComparison.Ordinal); // base64 of a0 a1 a2
        Assert.Equal(text, $"{key}");
    }

    [Fact]
    public void ClearZeroes()
    {
        var key = new Key32(Hex.Sequence(32, 1));
        Assert.False(key.IsZero);
        key.Clear();
        Assert.True(key.IsZero);
        Assert.True(key == default);
    }

    [Fact]
    public void WrongLengthIsRejected() =>
        Assert.Throws<ArgumentException>(() => new Key32(new byte[31]));

    [Fact]
    public void ConstantTimeHelpers()
    {
        Assert.True(ConstantTime.IsZero(new byte[40]));
        Assert.True(ConstantTime.IsZero(ReadOnlySpan<byte>.Empty));
        byte[] oneBitSet = new byte[40];
        oneBitSet[39] = 0x80;
        Assert.False(ConstantTime.IsZero(oneBitSet));
        Assert.True(ConstantTime.Equals(Hex.Sequence(5), Hex.Sequence(5)));
        Assert.False(ConstantTime.Equals(Hex.Sequence(5), Hex.Sequence(6)));
        Assert.False(ConstantTime.Equals(Hex.Sequence(5), Hex.Sequence(5, 1)));
    }
}
