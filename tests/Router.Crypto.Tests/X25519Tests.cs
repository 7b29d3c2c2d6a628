namespace Router.Crypto.Tests;

/// <summary>RFC 7748 section 5.2 (single and iterated) and 6.1, through libsodium.</summary>
public sealed class X25519Tests
{
    [Theory]
    [InlineData("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")]
    [InlineData("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957")]
    public void Section52(string scalar, string u, string expected)
    {
        byte[] output = new byte[32];
        Assert.True(X25519.TryAgree(Hex.Bytes(scalar), Hex.Bytes(u), output));
        Assert.Equal(expected, Hex.Of(output));
    }

    [Fact]
    public void Section52Iterated()
    {
        // k = u = 9; repeatedly (k, u) = (X25519(k, u), k).
        byte[] k = new byte[32], u = new byte[32], next = new byte[32];
        k[0] = 9;
        u[0] = 9;
        for (int i = 1; i <= 1000; i++)
        {
            Assert.True(X25519.TryAgree(k, u, next));
            k.CopyTo(u, 0);
            next.CopyTo(k, 0);
            if (i == 1)
            {
                Assert.Equal("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", Hex.Of(k));
            }
        }

        Assert.Equal("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", Hex.Of(k));
    }

    [Fact]
    public void Section61DiffieHellman()
    {
        byte[] alice = Hex.Bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        byte[] bob = Hex.Bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        byte[] alicePublic = new byte[32], bobPublic = new byte[32], s1 = new byte[32], s2 = new byte[32];
        X25519.DerivePublicKey(alice, alicePublic);
        X25519.DerivePublicKey(bob, bobPublic);
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Hex.Of(alicePublic));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Hex.Of(bobPublic));
        Assert.True(X25519.TryAgree(alice, bobPublic, s1));
        Assert.True(X25519.TryAgree(bob, alicePublic, s2));
        Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Hex.Of(s1));
        Assert.Equal(s1, s2);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")] // u = 0
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")] // u = 1, order 1
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")] // order 8 point
    public void LowOrderPointIsRejectedAndZeroed(string publicKey)
    {
        byte[] secret = Enumerable.Repeat((byte)0xAA, 32).ToArray();
        byte[] privateKey = new byte[32];
        X25519.GeneratePrivateKey(privateKey);
        Assert.False(X25519.TryAgree(privateKey, Hex.Bytes(publicKey), secret));
        Assert.All(secret, b => Assert.Equal(0, b));
    }

    [Fact]
    public void GeneratedKeysAreClampedAndAgree()
    {
        byte[] a = new byte[32], b = new byte[32], pa = new byte[32], pb = new byte[32], s1 = new byte[32], s2 = new byte[32];
        X25519.GeneratePrivateKey(a);
        X25519.GeneratePrivateKey(b);
        Assert.Equal(0, a[0] & 7);
        Assert.Equal(64, a[31] & 0xC0);
        X25519.DerivePublicKey(a, pa);
        X25519.DerivePublicKey(b, pb);
        Assert.True(X25519.TryAgree(a, pb, s1));
        Assert.True(X25519.TryAgree(b, pa, s2));
        Assert.Equal(s1, s2);
    }

    [Fact]
    public void ClampMatchesWireGuard()
    {
        byte[] key = Enumerable.Repeat((byte)0xFF, 32).ToArray();
        X25519.Clamp(key);
        Assert.Equal(0xF8, key[0]);
        Assert.Equal(0x7F, key[31]);
        key = new byte[32];
        X25519.Clamp(key);
        Assert.Equal(0x40, key[31]);
    }
}
