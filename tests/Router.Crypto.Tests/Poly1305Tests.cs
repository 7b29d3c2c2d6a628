namespace Router.Crypto.Tests;

/// <summary>RFC 8439 section 2.5.2 and appendix A.3 (including the reduction edge cases #5..#11).</summary>
public sealed class Poly1305Tests
{
    private const string IetfSubmission =
        "416e79207375626d697373696f6e20746f20746865204945544620696e74656e6465642062792074686520436f6e7472696275746f7220666f72207075626c69" +
        "636174696f6e20617320616c6c206f722070617274206f6620616e204945544620496e7465726e65742d4472616674206f722052464320616e6420616e792073" +
        "746174656d656e74206d6164652077697468696e2074686520636f6e74657874206f6620616e204945544620616374697669747920697320636f6e7369646572" +
        "656420616e20224945544620436f6e747269627574696f6e222e20537563682073746174656d656e747320696e636c756465206f72616c2073746174656d656e" +
        "747320696e20494554462073657373696f6e732c2061732077656c6c206173207772697474656e20616e6420656c656374726f6e696320636f6d6d756e696361" +
        "74696f6e73206d61646520617420616e792074696d65206f7220706c6163652c207768696368206172652061646472657373656420746f";

    private const string Jabberwocky =
        "2754776173206272696c6c69672c20616e642074686520736c6974687920746f7665730a446964206779726520616e642067696d626c6520696e2074686520776162653a0a416c6c206d696d737920776572652074686520626f726f676f7665732c0a416e6420746865206d6f6d65207261746873206f757467726162652e";

    [Theory]
    // 2.5.2
    [InlineData("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b", "43727970746f6772617068696320466f72756d2052657365617263682047726f7570", "a8061dc1305136c6c22b8baf0c0127a9")]
    // A.3 #1
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", "00000000000000000000000000000000")]
    // A.3 #2, #3
    [InlineData("0000000000000000000000000000000036e5f6b5c5e06070f0efca96227a863e", IetfSubmission, "36e5f6b5c5e06070f0efca96227a863e")]
    [InlineData("36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000", IetfSubmission, "f3477e7cd95417af89a6b8794c310cf0")]
    // A.3 #4
    [InlineData("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0", Jabberwocky, "4541669a7eaaee61e708dc7cbcc5eb62")]
    // A.3 #5: partially reduced final result not fully reduced.
    [InlineData("0200000000000000000000000000000000000000000000000000000000000000", "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000")]
    // A.3 #6: s addition overflows 2^128.
    [InlineData("02000000000000000000000000000000ffffffffffffffffffffffffffffffff", "02000000000000000000000000000000", "03000000000000000000000000000000")]
    // A.3 #7: all-ones data limb with carry.
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000", "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff11000000000000000000000000000000", "05000000000000000000000000000000")]
    // A.3 #8: result exactly 2^130-5.
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000", "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe01010101010101010101010101010101", "00000000000000000000000000000000")]
    // A.3 #9: result exactly 2^130-6.
    [InlineData("0200000000000000000000000000000000000000000000000000000000000000", "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff")]
    // A.3 #10, #11: 5*H+L reduction with 131-bit intermediate / final results.
    [InlineData("0100000000000000040000000000000000000000000000000000000000000000", "e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000", "14000000000000005500000000000000")]
    [InlineData("0100000000000000040000000000000000000000000000000000000000000000", "e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000", "13000000000000000000000000000000")]
    public void Rfc8439Vectors(string key, string message, string tag)
    {
        Span<byte> actual = stackalloc byte[16];
        Poly1305.Compute(Hex.Bytes(key), Hex.Bytes(message), actual);
        Assert.Equal(tag, Hex.Of(actual));

        // Scalar only, and every vector path from the first full group on (those the CPU has; the others fall back).
        Poly1305.Compute(Hex.Bytes(key), Hex.Bytes(message), actual, int.MaxValue, ChaCha20Implementation.Vector512);
        Assert.Equal(tag, Hex.Of(actual));
        foreach (ChaCha20Implementation widest in Enum.GetValues<ChaCha20Implementation>())
        {
            Poly1305.Compute(Hex.Bytes(key), Hex.Bytes(message), actual, 4, widest);
            Assert.True(tag == Hex.Of(actual), $"{Poly1305.NameOf(widest)}: {Hex.Of(actual)}");
        }
    }

    [Fact]
    public void VectorPathMatchesScalarOnRandomAndExtremeInputs()
    {
        // Random keys and data, plus all-ones data and keys with every clamped bit set, which push limbs to their bounds.
        var random = new Random(1305);
        Span<byte> scalar = stackalloc byte[16];
        Span<byte> vector = stackalloc byte[16];
        byte[] key = new byte[32];
        byte[] data = new byte[4096];
        for (int round = 0; round < 300; round++)
        {
            int length = random.Next(0, data.Length + 1);
            int kind = round % 3;
            if (kind == 0)
            {
                random.NextBytes(key);
                random.NextBytes(data);
            }
            else
            {
                Array.Fill(key, (byte)0xFF);
                Array.Fill(data, kind == 1 ? (byte)0xFF : (byte)0x00);
                if (kind == 2)
                {
                    random.NextBytes(key.AsSpan(16));
                }
            }

            Poly1305.Compute(key, data.AsSpan(0, length), scalar, int.MaxValue, ChaCha20Implementation.Scalar);
            foreach (ChaCha20Implementation widest in (ReadOnlySpan<ChaCha20Implementation>)[ChaCha20Implementation.Vector128, ChaCha20Implementation.Vector256, ChaCha20Implementation.Vector512])
            {
                Poly1305.Compute(key, data.AsSpan(0, length), vector, 4, widest);
                Assert.True(scalar.SequenceEqual(vector), $"{Poly1305.NameOf(widest)}, length {length}, kind {kind}");
            }
        }
    }
}
