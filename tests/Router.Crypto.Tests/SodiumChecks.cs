using System.Runtime.InteropServices;
using NSec.Cryptography;

namespace Router.Crypto.Tests;

/// <summary>
/// Router against libsodium for every length 0..<see cref="MaxLength"/> on random keys, as failure texts; shared by
/// the xunit tests (x64) and the AOT conformance runner (tests/Router.Crypto.Conformance), which runs them on arm64
/// under qemu with arm64 libsodium, where the Vector128 paths are NEON. Poly1305 alone goes to libsodium's
/// crypto_onetimeauth_poly1305 (the library NSec loads), the AEADs through NSec.
/// </summary>
internal static unsafe partial class SodiumChecks
{
    /// <summary>Covers every group and tail of the 4- and 8-way code for packet-sized inputs (up to 68 blocks).</summary>
    public const int MaxLength = 1100;

    /// <summary>
    /// The bare MAC (RFC 8439 2.5, 0x01-terminated last block) on the Poly1305 width of <paramref name="path"/>,
    /// at the default threshold and with the vector code forced from 4 blocks. Every 8th length uses an all-ones key
    /// and message, which pushes the 2^26 limbs to their bounds.
    /// </summary>
    public static List<string> Poly1305(ChaCha20Implementation path, int seed)
    {
        var failures = new List<string>();
        var random = new Random(seed);
        byte[] key = new byte[32], message = new byte[MaxLength], ours = new byte[16], theirs = new byte[16];
        for (int length = 0; length <= MaxLength; length++)
        {
            bool extreme = length % 8 == 7;
            if (extreme)
            {
                Array.Fill(key, (byte)0xFF);
                Array.Fill(message, (byte)0xFF);
            }
            else
            {
                random.NextBytes(key);
                random.NextBytes(message);
            }

            ReadOnlySpan<byte> m = message.AsSpan(0, length);
            fixed (byte* t = theirs, p = message, k = key)
            {
                crypto_onetimeauth_poly1305(t, p, (ulong)length, k);
            }

            foreach (int threshold in (ReadOnlySpan<int>)[Router.Crypto.Poly1305.DefaultVectorThreshold, 4])
            {
                Router.Crypto.Poly1305.Compute(key, m, ours, threshold, path);
                if (!ours.AsSpan().SequenceEqual(theirs))
                {
                    failures.Add($"length {length}, threshold {threshold}{(extreme ? ", all-ones" : "")}");
                }
            }
        }

        return failures;
    }

    private delegate void SealOn(ChaCha20Implementation path, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> ad, Span<byte> box);

    private delegate bool OpenOn(ChaCha20Implementation path, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> box, ReadOnlySpan<byte> ad, Span<byte> plaintext);

    /// <summary>
    /// ChaCha20-Poly1305 and XChaCha20-Poly1305 on <paramref name="path"/>: Router's box must equal libsodium's,
    /// libsodium must open it, and Router must open libsodium's, for random keys, nonces and associated data.
    /// </summary>
    public static List<string> Aead(ChaCha20Implementation path, int seed)
    {
        var failures = new List<string>();
        var random = new Random(seed);
        Check("ChaCha20-Poly1305", AeadAlgorithm.ChaCha20Poly1305, ChaCha20Poly1305.Encrypt, ChaCha20Poly1305.Decrypt);
        Check("XChaCha20-Poly1305", AeadAlgorithm.XChaCha20Poly1305, XChaCha20Poly1305.Encrypt, XChaCha20Poly1305.Decrypt);
        return failures;

        void Check(string name, AeadAlgorithm sodium, SealOn seal, OpenOn open)
        {
            byte[] key = new byte[32], nonce = new byte[sodium.NonceSize], ad = new byte[48];
            byte[] plaintext = new byte[MaxLength], ours = new byte[MaxLength + 16], theirs = new byte[MaxLength + 16], opened = new byte[MaxLength];
            for (int length = 0; length <= MaxLength; length++)
            {
                random.NextBytes(key);
                random.NextBytes(nonce);
                random.NextBytes(plaintext);
                int adLength = random.Next(0, 4) == 0 ? 0 : random.Next(0, ad.Length + 1);
                random.NextBytes(ad);
                ReadOnlySpan<byte> p = plaintext.AsSpan(0, length), a = ad.AsSpan(0, adLength);
                Span<byte> mine = ours.AsSpan(0, length + 16), reference = theirs.AsSpan(0, length + 16), back = opened.AsSpan(0, length);

                seal(path, key, nonce, p, a, mine);
                using (var sodiumKey = Key.Import(sodium, key, KeyBlobFormat.RawSymmetricKey))
                {
                    sodium.Encrypt(sodiumKey, nonce, a, p, reference);
                    if (!reference.SequenceEqual(mine) || !sodium.Decrypt(sodiumKey, nonce, a, mine, back))
                    {
                        failures.Add($"{name} length {length}, AD {adLength}: libsodium differs");
                    }
                }

                if (!open(path, key, nonce, reference, a, back) || !back.SequenceEqual(p))
                {
                    failures.Add($"{name} length {length}, AD {adLength}: libsodium's box did not open");
                }
            }
        }
    }

    [LibraryImport("libsodium")]
    private static partial int crypto_onetimeauth_poly1305(byte* tag, byte* message, ulong length, byte* key);
}
