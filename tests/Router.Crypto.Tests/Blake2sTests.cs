namespace Router.Crypto.Tests;

public sealed class Blake2sTests
{
    [Fact]
    public void Rfc7693AppendixAbc()
    {
        Span<byte> digest = stackalloc byte[32];
        Blake2s.Hash("abc"u8, digest);
        Assert.Equal("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982", Hex.Of(digest));
    }

    // BLAKE2 reference testvectors/blake2-kat.json, "blake2s" with empty key: input 00..len-1.
    [Theory]
    [InlineData(0, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9")]
    [InlineData(1, "e34d74dbaf4ff4c6abd871cc220451d2ea2648846c7757fbaac82fe51ad64bea")]
    [InlineData(63, "e57cb79487dd57902432b250733813bd96a84efce59f650fac26e6696aefafc3")]
    [InlineData(64, "56f34e8b96557e90c1f24b52d0c89d51086acf1b00f634cf1dde9233b8eaaa3e")]
    [InlineData(65, "1b53ee94aaf34e4b159d48de352c7f0661d0a40edff95a0b1639b4090e974472")]
    public void ReferenceUnkeyedSequence(int length, string expected)
    {
        Span<byte> digest = stackalloc byte[32];
        Blake2s.Hash(Hex.Sequence(length), digest);
        Assert.Equal(expected, Hex.Of(digest));
    }

    // BLAKE2 reference blake2s-kat (keyed): key 00..1f, input 00..len-1.
    [Theory]
    [InlineData(0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49")]
    [InlineData(1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1")]
    [InlineData(2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803")]
    [InlineData(63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd")]
    [InlineData(64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4")]
    [InlineData(65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8")]
    [InlineData(255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd")]
    public void ReferenceKeyedSequence(int length, string expected)
    {
        Span<byte> digest = stackalloc byte[32];
        Blake2s.KeyedHash(Hex.Sequence(32), Hex.Sequence(length), digest);
        Assert.Equal(expected, Hex.Of(digest));
    }

    [Fact]
    public void IncrementalInAnyChunkingMatchesOneShot()
    {
        byte[] key = Hex.Sequence(32);
        byte[] data = Hex.Sequence(300);
        Span<byte> expected = stackalloc byte[32];
        Span<byte> actual = stackalloc byte[32];
        foreach (int outputLength in new[] { 16, 32 })
        {
            for (int messageLength = 0; messageLength <= data.Length; messageLength += 13)
            {
                Blake2s.KeyedHash(key, data.AsSpan(0, messageLength), expected[..outputLength]);
                foreach (int chunk in new[] { 1, 7, 63, 64, 65, 200 })
                {
                    var state = new Blake2sState(outputLength, key);
                    for (int offset = 0; offset < messageLength; offset += chunk)
                    {
                        state.Update(data.AsSpan(offset, Math.Min(chunk, messageLength - offset)));
                    }

                    actual.Clear();
                    state.Finish(actual);
                    Assert.Equal(Hex.Of(expected[..outputLength]), Hex.Of(actual[..outputLength]));
                }
            }
        }
    }

    [Fact]
    public void Blake2s128IsNotATruncatedBlake2s256()
    {
        // The digest length is a parameter of the hash (RFC 7693 section 2.5), so mac1 cannot be a prefix of a 32-byte hash.
        Span<byte> full = stackalloc byte[32];
        Span<byte> half = stackalloc byte[16];
        Blake2s.Hash("abc"u8, full);
        Blake2s.Hash("abc"u8, half);
        Assert.NotEqual(Hex.Of(full[..16]), Hex.Of(half));
    }

    [Fact]
    public void FinishedStateCannotBeReused()
    {
        var state = new Blake2sState(32);
        state.Update("abc"u8);
        state.Finish(new byte[32]);
        Assert.Throws<InvalidOperationException>(() => state.Update("x"u8));
        Assert.Throws<InvalidOperationException>(() => default(Blake2sState).Finish(new byte[32]));
    }

    [Fact]
    public void BadLengthsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Blake2s.Hash("abc"u8, new byte[33]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Blake2s.Hash("abc"u8, Span<byte>.Empty));
        Assert.Throws<ArgumentException>(() => Blake2s.KeyedHash(new byte[33], "abc"u8, new byte[32]));
        Assert.Throws<ArgumentException>(() => Blake2s.KeyedHash(ReadOnlySpan<byte>.Empty, "abc"u8, new byte[32]));
    }
}
