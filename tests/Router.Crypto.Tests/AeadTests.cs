namespace Router.Crypto.Tests;

/// <summary>RFC 8439 section 2.8.2 and appendix A.5; draft-irtf-cfrg-xchacha-03 appendix A.3.1; the public API rules.</summary>
public sealed class AeadTests
{
    private static readonly byte[] Sunscreen = System.Text.Encoding.ASCII.GetBytes(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");

    private const string Section282Ciphertext =
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";

    private const string XChaChaCiphertext =
        "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
        "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e";

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void Section282(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        byte[] key = Hex.Sequence(32, 0x80);
        byte[] nonce = Hex.Bytes("070000004041424344454647");
        byte[] ad = Hex.Bytes("50515253c0c1c2c3c4c5c6c7");
        byte[] sealedBox = new byte[Sunscreen.Length + 16];
        ChaCha20Poly1305.Encrypt(path, key, nonce, Sunscreen, ad, sealedBox);
        Assert.Equal(Section282Ciphertext + "1ae10b594f09e26a7e902ecbd0600691", Hex.Of(sealedBox));

        byte[] opened = new byte[Sunscreen.Length];
        Assert.True(ChaCha20Poly1305.Decrypt(path, key, nonce, sealedBox, ad, opened));
        Assert.Equal(Sunscreen, opened);
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void AppendixA5Decryption(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        byte[] key = Hex.Bytes("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
        byte[] ciphertext = Hex.Bytes(
            "64a08615758 61af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf" +
            "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4" +
            "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a" +
            "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29" +
            "a6ad5cb4022b02709b" + "eead9d67890cbb22392336fea1851f38");
        byte[] nonce = Hex.Bytes("000000000102030405060708");
        byte[] ad = Hex.Bytes("f33388860000000000004e91");
        byte[] plaintext = new byte[ciphertext.Length - 16];
        Assert.True(ChaCha20Poly1305.Decrypt(path, key, nonce, ciphertext, ad, plaintext));
        Assert.StartsWith("Internet-Drafts are draft documents valid for a maximum of six months", System.Text.Encoding.UTF8.GetString(plaintext));
        Assert.Equal(
            "496e7465726e65742d4472616674732061726520647261667420646f63756d656e74732076616c696420666f722061206d6178696d756d206f6620736978206d" +
            "6f6e74687320616e64206d617920626520757064617465642c207265706c616365642c206f72206f62736f6c65746564206279206f7468657220646f63756d65" +
            "6e747320617420616e792074696d652e20497420697320696e617070726f70726961746520746f2075736520496e7465726e65742d4472616674732061732072" +
            "65666572656e6365206d6174657269616c206f7220746f2063697465207468656d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67" +
            "726573732e2fe2809d",
            Hex.Of(plaintext));
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void XChaChaDraftAppendixA31(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        byte[] key = Hex.Sequence(32, 0x80);
        byte[] nonce = Hex.Sequence(24, 0x40);
        byte[] ad = Hex.Bytes("50515253c0c1c2c3c4c5c6c7");
        byte[] sealedBox = new byte[Sunscreen.Length + 16];
        XChaCha20Poly1305.Encrypt(path, key, nonce, Sunscreen, ad, sealedBox);
        Assert.Equal(XChaChaCiphertext + "c0875924c1c7987947deafd8780acf49", Hex.Of(sealedBox));

        byte[] opened = new byte[Sunscreen.Length];
        Assert.True(XChaCha20Poly1305.Decrypt(path, key, nonce, sealedBox, ad, opened));
        Assert.Equal(Sunscreen, opened);
    }

    [Fact]
    public void CounterOverloadUsesWireGuardNonce()
    {
        byte[] key = Hex.Sequence(32, 3);
        byte[] plaintext = Hex.Sequence(100);
        byte[] viaCounter = new byte[116], viaNonce = new byte[116];
        ChaCha20Poly1305.Encrypt(key, 0x0102030405060708UL, plaintext, default, viaCounter);
        ChaCha20Poly1305.Encrypt(key, Hex.Bytes("000000000807060504030201"), plaintext, default, viaNonce);
        Assert.Equal(viaNonce, viaCounter);

        byte[] opened = new byte[100];
        Assert.True(ChaCha20Poly1305.Decrypt(key, 0x0102030405060708UL, viaCounter, default, opened));
        Assert.Equal(plaintext, opened);
        Assert.False(ChaCha20Poly1305.Decrypt(key, 0x0102030405060709UL, viaCounter, default, opened));
    }

    [Fact]
    public void InPlaceRoundTrip()
    {
        byte[] key = Hex.Sequence(32, 9);
        byte[] buffer = new byte[1420 + 16];
        Hex.Sequence(1420).CopyTo(buffer, 0);
        ChaCha20Poly1305.Encrypt(key, 5UL, buffer.AsSpan(0, 1420), default, buffer);
        Assert.True(ChaCha20Poly1305.Decrypt(key, 5UL, buffer, default, buffer.AsSpan(0, 1420)));
        Assert.Equal(Hex.Sequence(1420), buffer.AsSpan(0, 1420).ToArray());
    }

    [Fact]
    public void FailedDecryptionReleasesNoPlaintext()
    {
        byte[] key = Hex.Sequence(32, 9);
        byte[] sealedBox = new byte[64 + 16];
        ChaCha20Poly1305.Encrypt(key, 1UL, Hex.Sequence(64, 1), default, sealedBox);
        sealedBox[^1] ^= 1;
        byte[] plaintext = Enumerable.Repeat((byte)0xAA, 64).ToArray();
        Assert.False(ChaCha20Poly1305.Decrypt(key, 1UL, sealedBox, default, plaintext));
        Assert.All(plaintext, b => Assert.Equal(0, b));
    }

    [Fact]
    public void ShiftedOverlapAndBadSizesAreRejected()
    {
        byte[] key = new byte[32];
        byte[] buffer = new byte[200];
        Assert.Throws<ArgumentException>(() => ChaCha20Poly1305.Encrypt(key, 0UL, buffer.AsSpan(1, 100), default, buffer.AsSpan(0, 116)));
        Assert.Throws<ArgumentException>(() => ChaCha20Poly1305.Encrypt(key, 0UL, buffer.AsSpan(0, 100), default, new byte[115]));
        Assert.Throws<ArgumentException>(() => ChaCha20Poly1305.Decrypt(key, 0UL, new byte[15], default, Span<byte>.Empty));
        Assert.Throws<ArgumentException>(() => ChaCha20Poly1305.Encrypt(new byte[31], 0UL, buffer.AsSpan(0, 1), default, new byte[17]));
        Assert.Throws<ArgumentException>(() => XChaCha20Poly1305.Encrypt(key, new byte[12], buffer.AsSpan(0, 1), default, new byte[17]));
    }
}
