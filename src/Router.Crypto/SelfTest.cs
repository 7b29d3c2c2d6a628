using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// Known-answer tests of every primitive on the path this CPU selects, for `routerd selftest` (the kernel module
/// likewise refuses to load when its self-tests fail). Vectors: RFC 7693 appendix A, the BLAKE2 reference keyed KAT,
/// wireguard-go's kdf_test.go, RFC 8439 sections 2.5.2 and 2.8.2, draft-irtf-cfrg-xchacha-03 A.3.1, RFC 7748 section 6.1.
/// </summary>
public static class SelfTest
{
    /// <summary>Runs every known answer; writes one line per primitive; returns false on any mismatch.</summary>
    public static bool Run(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        string path = ChaCha20Poly1305.ImplementationName;
        bool ok = true;
        ok &= Check(output, "BLAKE2s", "scalar", Blake2sKnownAnswers);
        ok &= Check(output, "HMAC-BLAKE2s / KDF", "scalar", KdfKnownAnswer);
        ok &= Check(output, "Poly1305", ChaCha20Poly1305.Poly1305ImplementationName, Poly1305KnownAnswer);
        ok &= Check(output, "ChaCha20-Poly1305", path, ChaCha20Poly1305KnownAnswers);
        ok &= Check(output, "XChaCha20-Poly1305", path, XChaCha20Poly1305KnownAnswer);
        ok &= Check(output, "X25519", "libsodium (NSec)", X25519KnownAnswer);
        output.WriteLine(ok ? "selftest: ok" : "selftest: FAIL");
        return ok;
    }

    private static bool Check(TextWriter output, string primitive, string path, Func<bool> test)
    {
        bool ok;
        try
        {
            ok = test();
        }
        catch (Exception e) when (e is CryptographicException or DllNotFoundException or EntryPointNotFoundException or InvalidOperationException or TypeInitializationException)
        {
            output.WriteLine($"{primitive,-20} {path,-24} FAIL ({e.GetType().Name})");
            return false;
        }

        output.WriteLine($"{primitive,-20} {path,-24} {(ok ? "ok" : "FAIL")}");
        return ok;
    }

    private static bool Blake2sKnownAnswers()
    {
        Span<byte> digest = stackalloc byte[32];
        Blake2s.Hash("abc"u8, digest);
        bool ok = Matches(digest, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");

        Span<byte> key = stackalloc byte[32];
        Span<byte> input = stackalloc byte[255];
        for (int i = 0; i < key.Length; i++)
        {
            key[i] = (byte)i;
        }

        for (int i = 0; i < input.Length; i++)
        {
            input[i] = (byte)i;
        }

        Blake2s.KeyedHash(key, input[..64], digest);
        ok &= Matches(digest, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4");
        Blake2s.KeyedHash(key, input, digest);
        ok &= Matches(digest, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd");
        return ok;
    }

    private static bool KdfKnownAnswer()
    {
        Span<byte> t1 = stackalloc byte[32], t2 = stackalloc byte[32], t3 = stackalloc byte[32];
        Kdf.Derive3("test-key"u8, "test-input"u8, t1, t2, t3);
        return Matches(t1, "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633")
            & Matches(t2, "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a")
            & Matches(t3, "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24");
    }

    private static bool Poly1305KnownAnswer()
    {
        Span<byte> tag = stackalloc byte[16];
        Poly1305.Compute(Convert.FromHexString("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"), "Cryptographic Forum Research Group"u8, tag);
        bool ok = Matches(tag, "a8061dc1305136c6c22b8baf0c0127a9");

        // RFC 8439 A.3 #8: the accumulator ends exactly at 2^130 - 5, the final reduction's corner case.
        Poly1305.Compute(
            Convert.FromHexString("0100000000000000000000000000000000000000000000000000000000000000"),
            Convert.FromHexString("fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe01010101010101010101010101010101"),
            tag);
        ok &= Matches(tag, "00000000000000000000000000000000");

        // RFC 8439 A.3 #3: 375 bytes, 23 full blocks, so the selected vector path runs (5 groups of 4, then scalar).
        Poly1305.Compute(Convert.FromHexString("36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000"), IetfSubmission, tag);
        ok &= Matches(tag, "f3477e7cd95417af89a6b8794c310cf0");

        // Every group and tail boundary of the vector paths, against the scalar code, with the 2^26 limbs at their bounds.
        byte[] key = Sequence(32, 0xF0);
        byte[] ones = new byte[1100];
        Array.Fill(ones, (byte)0xFF);
        Span<byte> scalar = stackalloc byte[16];
        foreach (int length in (ReadOnlySpan<int>)[127, 128, 129, 255, 256, 1023, 1100])
        {
            Poly1305.Compute(key, ones.AsSpan(0, length), tag);
            Poly1305.Compute(key, ones.AsSpan(0, length), scalar, int.MaxValue, ChaCha20Implementation.Scalar);
            ok &= tag.SequenceEqual(scalar);
        }

        return ok;
    }

    private static readonly byte[] IetfSubmission =
        ("Any submission to the IETF intended by the Contributor for publication as all or part of an IETF Internet-Draft or RFC and "u8 +
        "any statement made within the context of an IETF activity is considered an \"IETF Contribution\". Such statements include "u8 +
        "oral statements in IETF sessions, as well as written and electronic communications made at any time or place, which are addressed to"u8)
        .ToArray();

    private static readonly byte[] Sunscreen =
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."u8.ToArray();

    private static bool ChaCha20Poly1305KnownAnswers()
    {
        // RFC 8439 section 2.8.2 (114 bytes: tail handling), then lengths across the selected path's chunk sizes.
        byte[] key = Sequence(32, 0x80);
        byte[] nonce = Convert.FromHexString("070000004041424344454647");
        byte[] ad = Convert.FromHexString("50515253c0c1c2c3c4c5c6c7");
        byte[] box = new byte[Sunscreen.Length + 16];
        ChaCha20Poly1305.Encrypt(key, nonce, Sunscreen, ad, box);
        bool ok = Matches(box,
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
            "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116" +
            "1ae10b594f09e26a7e902ecbd0600691");

        byte[] opened = new byte[Sunscreen.Length];
        ok &= ChaCha20Poly1305.Decrypt(key, nonce, box, ad, opened) && opened.AsSpan().SequenceEqual(Sunscreen);
        box[0] ^= 1;
        ok &= !ChaCha20Poly1305.Decrypt(key, nonce, box, ad, opened);

        // Every chunk and tail boundary of the wide paths, against the scalar path (which the RFC vector pins).
        Span<byte> counterNonce = stackalloc byte[12];
        counterNonce.Clear();
        counterNonce[4] = 42;
        byte[] large = Sequence(2100, 3);
        byte[] selected = new byte[2116], scalar = new byte[2116];
        foreach (int length in (ReadOnlySpan<int>)[1, 63, 64, 65, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1420, 2049, 2100])
        {
            ChaCha20Poly1305.Encrypt(key, 42UL, large.AsSpan(0, length), ad, selected.AsSpan(0, length + 16));
            ChaCha20Poly1305.Encrypt(ChaCha20Implementation.Scalar, key, counterNonce, large.AsSpan(0, length), ad, scalar.AsSpan(0, length + 16));
            ok &= selected.AsSpan(0, length + 16).SequenceEqual(scalar.AsSpan(0, length + 16));
        }

        return ok;
    }

    private static bool XChaCha20Poly1305KnownAnswer()
    {
        byte[] box = new byte[Sunscreen.Length + 16];
        XChaCha20Poly1305.Encrypt(Sequence(32, 0x80), Sequence(24, 0x40), Sunscreen, Convert.FromHexString("50515253c0c1c2c3c4c5c6c7"), box);
        return Matches(box,
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
            "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e" +
            "c0875924c1c7987947deafd8780acf49");
    }

    private static bool X25519KnownAnswer()
    {
        byte[] alice = Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        byte[] bobPublic = Convert.FromHexString("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        Span<byte> publicKey = stackalloc byte[32], shared = stackalloc byte[32];
        X25519.DerivePublicKey(alice, publicKey);
        bool ok = Matches(publicKey, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        ok &= X25519.TryAgree(alice, bobPublic, shared) && Matches(shared, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

        // A low-order point must be refused.
        ok &= !X25519.TryAgree(alice, new byte[32], shared);
        return ok;
    }

    private static bool Matches(ReadOnlySpan<byte> actual, string expectedHex) =>
        actual.SequenceEqual(Convert.FromHexString(expectedHex));

    private static byte[] Sequence(int length, int start)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(start + i);
        }

        return bytes;
    }
}
