namespace Router.Crypto.Tests;

/// <summary>
/// Project Wycheproof's ChaCha20-Poly1305 (325 vectors) and XChaCha20-Poly1305 (315) on every ChaCha20 path this
/// process can run (the ISA matrix re-runs them with the wider paths switched off) and, for the tag, on every
/// Poly1305 path. A valid vector must encrypt to exactly ct || tag and decrypt back to msg; an invalid one (a
/// modified tag, a nonce of the wrong size) must be rejected: Decrypt returns false with the output zeroed, or a
/// wrong nonce size throws ArgumentException before anything is computed.
/// </summary>
public sealed class WycheproofAeadTests
{
    private static readonly WycheproofFile ChaCha = WycheproofFile.Load("chacha20_poly1305_test.json");
    private static readonly WycheproofFile XChaCha = WycheproofFile.Load("xchacha20_poly1305_test.json");

    [Fact]
    public void FilesAreCompleteAndCoverBothResults()
    {
        foreach (WycheproofFile file in new[] { ChaCha, XChaCha })
        {
            Assert.Equal(file.DeclaredCount, file.Tests.Count);
            Assert.Contains(file.Tests, t => t.Result == "invalid" && t.Flags.Contains("ModifiedTag"));
            Assert.Contains(file.Tests, t => t.Result == "invalid" && t.Flags.Contains("InvalidNonceSize"));
            Assert.Contains(file.Tests, t => t.Result == "valid" && t.Flags.Contains("EdgeCasePoly1305"));
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void ChaCha20Poly1305Vectors(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        AssertAll(ChaCha, ChaCha20Poly1305.NonceSize,
            (key, nonce, plaintext, ad, output) => ChaCha20Poly1305.Encrypt(path, key, nonce, plaintext, ad, output),
            (key, nonce, sealedBox, ad, output) => ChaCha20Poly1305.Decrypt(path, key, nonce, sealedBox, ad, output));
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void XChaCha20Poly1305Vectors(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        AssertAll(XChaCha, XChaCha20Poly1305.NonceSize,
            (key, nonce, plaintext, ad, output) => XChaCha20Poly1305.Encrypt(path, key, nonce, plaintext, ad, output),
            (key, nonce, sealedBox, ad, output) => XChaCha20Poly1305.Decrypt(path, key, nonce, sealedBox, ad, output));
    }

    /// <summary>
    /// The tag of every 12-byte-nonce vector recomputed on each Poly1305 path (scalar, 4-way NEON/SSE2, 4-way AVX2,
    /// 8-way AVX-512) with the threshold forced low, so even short messages take the vector code where the CPU has it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void ChaCha20Poly1305TagsOnEveryPoly1305Path(string pathName)
    {
        ChaCha20Implementation widest = Enum.Parse<ChaCha20Implementation>(pathName);
        const int vectorThreshold = 4;
        var failures = new List<int>();
        Span<uint> state = stackalloc uint[16];
        Span<byte> block = stackalloc byte[ChaCha20.BlockSize];
        Span<byte> tag = stackalloc byte[16];
        foreach (WycheproofTest test in ChaCha.Tests)
        {
            if (test["iv"].Length != ChaCha20Poly1305.NonceSize)
            {
                continue;
            }

            ChaCha20.InitializeState(state, test["key"], 0, test["iv"]);
            ChaCha20.Block(state, block);
            var mac = new Poly1305(block[..Poly1305.KeySize], vectorThreshold, widest);
            mac.UpdatePadded(test["aad"]);
            mac.UpdatePadded(test["ct"]);
            mac.UpdateWords((ulong)test["aad"].Length, (ulong)test["ct"].Length);
            mac.Finish(tag);
            // A valid vector's tag is the MAC; an invalid one (modified tag) must differ from it.
            if (tag.SequenceEqual(test["tag"]) != (test.Result == "valid"))
            {
                failures.Add(test.TcId);
            }
        }

        Assert.True(failures.Count == 0, $"Poly1305 ({Poly1305.NameOf(widest)}) wrong on tcId {string.Join(", ", failures)}");
    }

    private static void AssertAll(WycheproofFile file, int nonceSize, WycheproofChecks.Seal seal, WycheproofChecks.Open open)
    {
        var failures = new List<string>();
        int valid = 0, rejected = 0;
        foreach (WycheproofTest test in file.Tests)
        {
            string? failure = WycheproofChecks.Aead(test, nonceSize, seal, open);
            if (failure is not null)
            {
                failures.Add($"tcId {test.TcId}: {failure}");
            }
            else if (test.Result == "valid")
            {
                valid++;
            }
            else
            {
                rejected++;
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(file.DeclaredCount, valid + rejected);
    }
}
