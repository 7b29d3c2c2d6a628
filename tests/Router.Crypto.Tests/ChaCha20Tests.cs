namespace Router.Crypto.Tests;

/// <summary>RFC 8439 section 2.3.2, 2.4.2 and appendix A.1/A.2, on every path the CPU offers.</summary>
public sealed class ChaCha20Tests
{
    private const string Sunscreen = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

    private const string IetfSubmission =
        "416e79207375626d697373696f6e20746f20746865204945544620696e74656e6465642062792074686520436f6e7472696275746f7220666f72207075626c69" +
        "636174696f6e20617320616c6c206f722070617274206f6620616e204945544620496e7465726e65742d4472616674206f722052464320616e6420616e792073" +
        "746174656d656e74206d6164652077697468696e2074686520636f6e74657874206f6620616e204945544620616374697669747920697320636f6e7369646572" +
        "656420616e20224945544620436f6e747269627574696f6e222e20537563682073746174656d656e747320696e636c756465206f72616c2073746174656d656e" +
        "747320696e20494554462073657373696f6e732c2061732077656c6c206173207772697474656e20616e6420656c656374726f6e696320636f6d6d756e696361" +
        "74696f6e73206d61646520617420616e792074696d65206f7220706c6163652c207768696368206172652061646472657373656420746f";

    [Fact]
    public void BlockFunctionSection232()
    {
        Span<uint> state = stackalloc uint[16];
        ChaCha20.InitializeState(state, Hex.Sequence(32), 1, Hex.Bytes("000000090000004a00000000"));
        Span<byte> block = stackalloc byte[64];
        ChaCha20.Block(state, block);
        Assert.Equal(
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
            Hex.Of(block));
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void EncryptionSection242(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        string ciphertext =
            "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
            "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab77937365af90bbf74a35be6b40b8eedf2785e42874d";
        Assert.Equal(ciphertext, Encrypt(path, Hex.Sequence(32), "000000000000004a00000000", 1, System.Text.Encoding.ASCII.GetBytes(Sunscreen)));
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void AppendixA2(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        // Test vector #1: all-zero key, nonce and plaintext, counter 0 (also A.1 #1's keystream).
        Assert.Equal(
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
            Encrypt(path, new byte[32], "000000000000000000000000", 0, new byte[64]));

        // Test vector #2: 375 bytes, counter 1.
        Assert.Equal(
            "a3fbf07df3fa2fde4f376ca23e82737041605d9f4f4f57bd8cff2c1d4b7955ec2a97948bd3722915c8f3d337f7d370050e9e96d647b7c39f56e031ca5eb6250d" +
            "4042e02785ececfa4b4bb5e8ead0440e20b6e8db09d881a7c6132f420e52795042bdfa7773d8a9051447b3291ce1411c680465552aa6c405b7764d5e87bea85a" +
            "d00f8449ed8f72d0d662ab052691ca66424bc86d2df80ea41f43abf937d3259dc4b2d0dfb48a6c9139ddd7f76966e928e635553ba76c5c879d7b35d49eb2e62b" +
            "0871cdac638939e25e8a1e0ef9d5280fa8ca328b351c3c765989cbcf3daa8b6ccc3aaf9f3979c92b3720fc88dc95ed84a1be059c6499b9fda236e7e818b04b0b" +
            "c39c1e876b193bfe5569753f88128cc08aaa9b63d1a16f80ef2554d7189c411f5869ca52c5b83fa36ff216b9c1d30062bebcfd2dc5bce0911934fda79a86f6e6" +
            "98ced759c3ff9b6477338f3da4f9cd8514ea9982ccafb341b2384dd902f3d1ab7ac61dd29c6f21ba5b862f3730e37cfdc4fd806c22f221",
            Encrypt(path, Hex.Bytes("0000000000000000000000000000000000000000000000000000000000000001"), "000000000000000000000002", 1, Hex.Bytes(IetfSubmission)));

        // Test vector #3: 127 bytes, counter 42.
        Assert.Equal(
            "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb" +
            "f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f7704c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1",
            Encrypt(path, Hex.Bytes("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"), "000000000000000000000002", 42,
                Hex.Bytes("2754776173206272696c6c69672c20616e642074686520736c6974687920746f7665730a446964206779726520616e642067696d626c6520696e2074686520776162653a0a416c6c206d696d737920776572652074686520626f726f676f7665732c0a416e6420746865206d6f6d65207261746873206f757467726162652e")));
    }

    [Fact]
    public void AppendixA1Vector5()
    {
        Span<uint> state = stackalloc uint[16];
        ChaCha20.InitializeState(state, new byte[32], 0, Hex.Bytes("000000000000000000000002"));
        Span<byte> block = stackalloc byte[64];
        ChaCha20.Block(state, block);
        Assert.Equal(
            "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c78a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d",
            Hex.Of(block));
    }

    [Fact]
    public void AppendixA4PolyKeyGeneration()
    {
        // The one-time Poly1305 key is the first 32 bytes of block 0.
        (string Key, string Nonce, string PolyKey)[] vectors =
        [
            ("0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"),
            ("0000000000000000000000000000000000000000000000000000000000000001", "000000000000000000000002", "ecfa254f845f647473d3cb140da9e87606cb33066c447b87bc2666dde3fbb739"),
            ("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0", "000000000000000000000002", "965e3bc6f9ec7ed9560808f4d229f94b137ff275ca9b3fcbdd59deaad23310ae"),
        ];
        Span<uint> state = stackalloc uint[16];
        Span<byte> block = stackalloc byte[64];
        foreach (var v in vectors)
        {
            ChaCha20.InitializeState(state, Hex.Bytes(v.Key), 0, Hex.Bytes(v.Nonce));
            ChaCha20.Block(state, block);
            Assert.Equal(v.PolyKey, Hex.Of(block[..32]));
        }
    }

    [Fact]
    public void HChaCha20DraftSection221()
    {
        Span<byte> subkey = stackalloc byte[32];
        ChaCha20.HChaCha20(Hex.Sequence(32), Hex.Bytes("000000090000004a0000000031415927"), subkey);
        Assert.Equal("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc", Hex.Of(subkey));
    }

    [Fact]
    public void EveryPathProducesTheScalarKeystream()
    {
        // Lengths around every chunk boundary (64, 256, 512, 1024) and counters that wrap within a chunk.
        var random = new Random(1);
        byte[] key = new byte[32];
        random.NextBytes(key);
        Span<uint> state = stackalloc uint[16];
        foreach (uint counter in new uint[] { 0, 1, 7, uint.MaxValue - 3 })
        {
            ChaCha20.InitializeState(state, key, counter, Hex.Bytes("0102030405060708090a0b0c"));
            foreach (int length in new[] { 0, 1, 63, 64, 65, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1420, 2048, 4097 })
            {
                byte[] input = new byte[length];
                random.NextBytes(input);
                byte[] expected = new byte[length];
                ChaCha20.Xor(ChaCha20Implementation.Scalar, state, input, expected);
                foreach (ChaCha20Implementation path in Enum.GetValues<ChaCha20Implementation>())
                {
                    if (!ChaCha20.IsSupported(path))
                    {
                        continue;
                    }

                    byte[] actual = new byte[length];
                    ChaCha20.Xor(path, state, input, actual);
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path} length {length} counter {counter}");

                    byte[] inPlace = (byte[])input.Clone();
                    ChaCha20.Xor(path, state, inPlace, inPlace);
                    Assert.True(expected.AsSpan().SequenceEqual(inPlace), $"{path} in place, length {length}");
                }
            }
        }
    }

    [Fact]
    public void SelectedPathIsTheWidestAccelerated()
    {
        Assert.True(ChaCha20.IsSupported(ChaCha20.Selected));
        Assert.Equal(ChaCha20.NameOf(ChaCha20.Selected), ChaCha20Poly1305.ImplementationName);
        if (!System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            Assert.Equal(ChaCha20Implementation.Scalar, ChaCha20.Selected);
        }
    }

    private static string Encrypt(ChaCha20Implementation path, byte[] key, string nonce, uint counter, byte[] plaintext)
    {
        Span<uint> state = stackalloc uint[16];
        ChaCha20.InitializeState(state, key, counter, Hex.Bytes(nonce));
        byte[] output = new byte[plaintext.Length];
        ChaCha20.Xor(path, state, plaintext, output);
        return Hex.Of(output);
    }
}
