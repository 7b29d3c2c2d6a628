using NSec.Cryptography;
using NSecAead = NSec.Cryptography.AeadAlgorithm;
using NSecKey = NSec.Cryptography.Key;
using NetChaCha = System.Security.Cryptography.ChaCha20Poly1305;

namespace Router.Crypto.Tests;

/// <summary>
/// Router's AEADs against libsodium (NSec) and .NET's ChaCha20Poly1305 (OpenSSL) on random keys, nonces and
/// associated data, for every length 0..2048 and a few up to 64 KiB, on every path this CPU offers.
/// </summary>
public sealed class DifferentialTests
{
    private static readonly int[] LargeLengths = [4095, 4096, 9000, 16384 + 7, 65536];

    public static IEnumerable<int> AllLengths() => Enumerable.Range(0, 2049).Concat(LargeLengths);

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void ChaCha20Poly1305MatchesLibsodiumAndDotNet(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        var random = new Random(0x5EED + (int)path);
        NSecAead sodium = NSecAead.ChaCha20Poly1305;
        byte[] key = new byte[32], nonce = new byte[12];
        byte[] plaintext = new byte[65536], ad = new byte[64];
        byte[] ours = new byte[65536 + 16], theirs = new byte[65536 + 16], opened = new byte[65536];
        bool dotnet = NetChaCha.IsSupported;

        foreach (int length in AllLengths())
        {
            random.NextBytes(key);
            random.NextBytes(nonce);
            random.NextBytes(plaintext.AsSpan(0, length));
            int adLength = random.Next(0, 3) == 0 ? 0 : random.Next(0, ad.Length + 1);
            random.NextBytes(ad.AsSpan(0, adLength));
            ReadOnlySpan<byte> p = plaintext.AsSpan(0, length), a = ad.AsSpan(0, adLength);

            Span<byte> mine = ours.AsSpan(0, length + 16);
            ChaCha20Poly1305.Encrypt(path, key, nonce, p, a, mine);

            using (var sodiumKey = NSecKey.Import(sodium, key, KeyBlobFormat.RawSymmetricKey))
            {
                Span<byte> reference = theirs.AsSpan(0, length + 16);
                sodium.Encrypt(sodiumKey, nonce, a, p, reference);
                Assert.True(reference.SequenceEqual(mine), $"libsodium differs at length {length} on {path}");
            }

            if (dotnet)
            {
                using var net = new NetChaCha(key);
                Span<byte> reference = theirs.AsSpan(0, length + 16);
                net.Encrypt(nonce, p, reference[..length], reference[length..], a);
                Assert.True(reference.SequenceEqual(mine), $".NET differs at length {length} on {path}");
            }

            Span<byte> back = opened.AsSpan(0, length);
            Assert.True(ChaCha20Poly1305.Decrypt(path, key, nonce, mine, a, back));
            Assert.True(back.SequenceEqual(p), $"round trip differs at length {length} on {path}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void XChaCha20Poly1305MatchesLibsodium(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        var random = new Random(0x7A11 + (int)path);
        NSecAead sodium = NSecAead.XChaCha20Poly1305;
        byte[] key = new byte[32], nonce = new byte[24];
        byte[] plaintext = new byte[65536], ad = new byte[64];
        byte[] ours = new byte[65536 + 16], theirs = new byte[65536 + 16], opened = new byte[65536];

        foreach (int length in AllLengths())
        {
            random.NextBytes(key);
            random.NextBytes(nonce);
            random.NextBytes(plaintext.AsSpan(0, length));
            int adLength = random.Next(0, ad.Length + 1);
            random.NextBytes(ad.AsSpan(0, adLength));
            ReadOnlySpan<byte> p = plaintext.AsSpan(0, length), a = ad.AsSpan(0, adLength);

            Span<byte> mine = ours.AsSpan(0, length + 16);
            XChaCha20Poly1305.Encrypt(path, key, nonce, p, a, mine);
            using (var sodiumKey = NSecKey.Import(sodium, key, KeyBlobFormat.RawSymmetricKey))
            {
                Span<byte> reference = theirs.AsSpan(0, length + 16);
                sodium.Encrypt(sodiumKey, nonce, a, p, reference);
                Assert.True(reference.SequenceEqual(mine), $"libsodium differs at length {length} on {path}");

                // And libsodium opens what Router sealed.
                Assert.True(sodium.Decrypt(sodiumKey, nonce, a, mine, opened.AsSpan(0, length)));
            }

            Span<byte> back = opened.AsSpan(0, length);
            Assert.True(XChaCha20Poly1305.Decrypt(path, key, nonce, mine, a, back));
            Assert.True(back.SequenceEqual(p));
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Supported), MemberType = typeof(Paths))]
    public void EveryTamperedByteFails(string pathName)
    {
        ChaCha20Implementation path = Enum.Parse<ChaCha20Implementation>(pathName);
        var random = new Random(0xBAD + (int)path);
        byte[] key = new byte[32], nonce = new byte[12], xnonce = new byte[24], ad = new byte[13];
        random.NextBytes(key);
        random.NextBytes(nonce);
        random.NextBytes(xnonce);
        random.NextBytes(ad);

        foreach (int length in new[] { 0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1420 })
        {
            byte[] plaintext = new byte[length];
            random.NextBytes(plaintext);
            byte[] box = new byte[length + 16], xbox = new byte[length + 16], output = new byte[length];
            ChaCha20Poly1305.Encrypt(path, key, nonce, plaintext, ad, box);
            XChaCha20Poly1305.Encrypt(path, key, xnonce, plaintext, ad, xbox);

            // Every byte of ciphertext and tag, with a random non-zero flip.
            for (int i = 0; i < box.Length; i++)
            {
                byte flip = (byte)random.Next(1, 256);
                box[i] ^= flip;
                Assert.False(ChaCha20Poly1305.Decrypt(path, key, nonce, box, ad, output), $"ciphertext byte {i} of {length}");
                Assert.True(ConstantTime.IsZero(output));
                box[i] ^= flip;
                xbox[i] ^= flip;
                Assert.False(XChaCha20Poly1305.Decrypt(path, key, xnonce, xbox, ad, output), $"XChaCha byte {i} of {length}");
                xbox[i] ^= flip;
            }

            // Every byte of associated data, and a missing or extra byte of it.
            for (int i = 0; i < ad.Length; i++)
            {
                ad[i] ^= 0x01;
                Assert.False(ChaCha20Poly1305.Decrypt(path, key, nonce, box, ad, output), $"AD byte {i} of {length}");
                Assert.False(XChaCha20Poly1305.Decrypt(path, key, xnonce, xbox, ad, output), $"XChaCha AD byte {i} of {length}");
                ad[i] ^= 0x01;
            }

            Assert.False(ChaCha20Poly1305.Decrypt(path, key, nonce, box, ad.AsSpan(1), output));
            Assert.False(ChaCha20Poly1305.Decrypt(path, key, nonce, box, [.. ad, 0], output));

            // A different nonce fails too; the untouched box still opens.
            nonce[0] ^= 1;
            Assert.False(ChaCha20Poly1305.Decrypt(path, key, nonce, box, ad, output));
            nonce[0] ^= 1;
            Assert.True(ChaCha20Poly1305.Decrypt(path, key, nonce, box, ad, output));
            Assert.Equal(plaintext, output);
            Assert.True(XChaCha20Poly1305.Decrypt(path, key, xnonce, xbox, ad, output));
            Assert.Equal(plaintext, output);
        }
    }
}
