namespace Router.Crypto.Tests;

public sealed class KdfTests
{
    // ../shared/PROTOCOL.md, from wireguard-go device/kdf_test.go.
    [Theory]
    [InlineData("746573742d6b6579", "746573742d696e707574",
        "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
        "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
        "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24")]
    [InlineData("776972656775617264", "776972656775617264",
        "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
        "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
        "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160")]
    [InlineData("", "",
        "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
        "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
        "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e")]
    public void WireGuardGoVectors(string key, string input, string t1, string t2, string t3)
    {
        byte[] k = Hex.Bytes(key), x = Hex.Bytes(input);
        byte[] a = new byte[32], b = new byte[32], c = new byte[32];

        Kdf.Derive3(k, x, a, b, c);
        Assert.Equal(t1, Hex.Of(a));
        Assert.Equal(t2, Hex.Of(b));
        Assert.Equal(t3, Hex.Of(c));

        Array.Clear(a);
        Array.Clear(b);
        Kdf.Derive2(k, x, a, b);
        Assert.Equal(t1, Hex.Of(a));
        Assert.Equal(t2, Hex.Of(b));

        Array.Clear(a);
        Kdf.Derive1(k, x, a);
        Assert.Equal(t1, Hex.Of(a));
    }

    [Fact]
    public void OutputsMayAliasTheChainingKeyAndInput()
    {
        // The handshake writes C = KDF1(C, x) and (C, k) = KDF2(C, x) in place.
        byte[] key = Hex.Bytes("746573742d6b6579746573742d6b6579746573742d6b6579746573742d6b6579");
        byte[] input = Hex.Sequence(32, 7);
        byte[] expected1 = new byte[32], expected2 = new byte[32], expected3 = new byte[32];
        Kdf.Derive3(key, input, expected1, expected2, expected3);

        byte[] c = (byte[])key.Clone();
        byte[] k = new byte[32];
        Kdf.Derive2(c, input, c, k);
        Assert.Equal(expected1, c);
        Assert.Equal(expected2, k);

        c = (byte[])key.Clone();
        byte[] tau = new byte[32];
        Kdf.Derive3(c, input, c, tau, k);
        Assert.Equal(expected1, c);
        Assert.Equal(expected2, tau);
        Assert.Equal(expected3, k);

        byte[] x = (byte[])input.Clone();
        c = (byte[])key.Clone();
        Kdf.Derive2(c, x, x, c);
        Assert.Equal(expected1, x);
        Assert.Equal(expected2, c);
    }

    [Fact]
    public void HmacMatchesKdfFirstStep()
    {
        // T1 = HMAC(HMAC(C, x), 0x01): check HMAC on its own against that identity.
        byte[] key = Hex.Bytes("746573742d6b6579"), input = Hex.Bytes("746573742d696e707574");
        byte[] prk = new byte[32], t1 = new byte[32];
        HmacBlake2s.Compute(key, input, prk);
        HmacBlake2s.Compute(prk, [1], t1);
        Assert.Equal("6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633", Hex.Of(t1));
    }
}
