using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// ChaCha20-Poly1305 AEAD (RFC 8439 section 2.8): WireGuard's transport and handshake cipher.
/// Key 32 bytes, nonce 12 bytes, tag 16 bytes appended to the ciphertext. The Poly1305 key is keystream block 0;
/// the data is encrypted from block 1. The MAC covers AD || pad16 || ciphertext || pad16 || len(AD) || len(ciphertext).
/// Encryption and decryption may run in place (source and destination starting at the same address); any other
/// overlap is rejected. Decryption checks the tag in constant time before it writes any plaintext.
/// Messages are limited by the 32-bit block counter to 2^32 - 1 blocks (256 GiB), far above any packet.
/// </summary>
public static class ChaCha20Poly1305
{
    /// <summary>Key size in bytes.</summary>
    public const int KeySize = 32;

    /// <summary>Nonce size in bytes.</summary>
    public const int NonceSize = 12;

    /// <summary>Tag size in bytes.</summary>
    public const int TagSize = 16;

    /// <summary>The ChaCha20 path this process uses: "Vector512", "Vector256", "Vector128 (AdvSimd)", "Vector128 (SSE)" or "Scalar".</summary>
    public static string ImplementationName => ChaCha20.NameOf(ChaCha20.Selected);

    /// <summary>The Poly1305 code this process runs on long inputs: "AVX-512 8-way 2^26", "AVX2 4-way 2^26", "NEON 4-way 2^26", "SSE2 4-way 2^26" or "scalar 64-bit".</summary>
    public static string Poly1305ImplementationName => Poly1305.NameOf(ChaCha20.Selected);

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="ciphertextAndTag"/> (plaintext.Length + 16 bytes).</summary>
    public static void Encrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertextAndTag) =>
        Encrypt(ChaCha20.Selected, key, nonce, plaintext, associatedData, ciphertextAndTag);

    /// <summary>
    /// Decrypts and authenticates; returns false on a wrong tag, and then <paramref name="plaintext"/>
    /// (ciphertextAndTag.Length - 16 bytes) is zeroed.
    /// </summary>
    public static bool Decrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext) =>
        Decrypt(ChaCha20.Selected, key, nonce, ciphertextAndTag, associatedData, plaintext);

    /// <summary>Encrypts with WireGuard's nonce: 4 zero bytes || <paramref name="counter"/> little-endian.</summary>
    public static void Encrypt(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertextAndTag)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        WriteCounterNonce(nonce, counter);
        Encrypt(ChaCha20.Selected, key, nonce, plaintext, associatedData, ciphertextAndTag);
    }

    /// <summary>Decrypts with WireGuard's nonce: 4 zero bytes || <paramref name="counter"/> little-endian.</summary>
    public static bool Decrypt(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        WriteCounterNonce(nonce, counter);
        return Decrypt(ChaCha20.Selected, key, nonce, ciphertextAndTag, associatedData, plaintext);
    }

    /// <summary>Encrypt on a chosen path (tests and benchmarks compare paths with this).</summary>
    internal static void Encrypt(ChaCha20Implementation implementation, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertextAndTag)
    {
        CheckKeyAndNonce(key, nonce);
        if (ciphertextAndTag.Length != plaintext.Length + TagSize)
        {
            throw new ArgumentException("The destination must be plaintext.Length + 16 bytes.", nameof(ciphertextAndTag));
        }

        CheckOverlap(plaintext, ciphertextAndTag);

        Span<uint> state = stackalloc uint[16];
        ChaCha20.InitializeState(state, key, 0, nonce);
        Span<byte> ciphertext = ciphertextAndTag[..plaintext.Length];
        Seal(implementation, state, plaintext, associatedData, ciphertext, ciphertextAndTag[plaintext.Length..]);
        CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsBytes(state));
    }

    /// <summary>Decrypt on a chosen path.</summary>
    internal static bool Decrypt(ChaCha20Implementation implementation, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        CheckKeyAndNonce(key, nonce);
        if (ciphertextAndTag.Length < TagSize || plaintext.Length != ciphertextAndTag.Length - TagSize)
        {
            throw new ArgumentException("The destination must be ciphertextAndTag.Length - 16 bytes.", nameof(plaintext));
        }

        CheckOverlap(ciphertextAndTag, plaintext);

        Span<uint> state = stackalloc uint[16];
        ChaCha20.InitializeState(state, key, 0, nonce);
        bool ok = Open(implementation, state, ciphertextAndTag[..plaintext.Length], ciphertextAndTag[plaintext.Length..], associatedData, plaintext);
        CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsBytes(state));
        return ok;
    }

    /// <summary>
    /// The AEAD core on a prepared ChaCha20 state (counter word 0). Shared with XChaCha20-Poly1305, whose state
    /// carries the HChaCha20 subkey.
    /// </summary>
    internal static void Seal(ChaCha20Implementation implementation, Span<uint> state, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertext, Span<byte> tag)
    {
        Span<byte> polyKey = stackalloc byte[ChaCha20.BlockSize];
        ChaCha20.Block(state, polyKey);
        state[12] = 1;
        ChaCha20.Xor(implementation, state, plaintext, ciphertext);
        ComputeTag(implementation, polyKey, associatedData, ciphertext, tag);
        CryptographicOperations.ZeroMemory(polyKey);
    }

    /// <summary>Verifies the tag, then decrypts; on failure zeroes <paramref name="plaintext"/> and returns false.</summary>
    internal static bool Open(ChaCha20Implementation implementation, Span<uint> state, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        Span<byte> polyKey = stackalloc byte[ChaCha20.BlockSize];
        Span<byte> expected = stackalloc byte[TagSize];
        ChaCha20.Block(state, polyKey);
        ComputeTag(implementation, polyKey, associatedData, ciphertext, expected);
        CryptographicOperations.ZeroMemory(polyKey);

        bool ok = ConstantTime.Equals(expected, tag);
        CryptographicOperations.ZeroMemory(expected);
        if (!ok)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            return false;
        }

        state[12] = 1;
        ChaCha20.Xor(implementation, state, ciphertext, plaintext);
        return true;
    }

    /// <summary>The MAC on the Poly1305 width matching the ChaCha20 path (NEON with NEON, scalar with scalar).</summary>
    private static void ComputeTag(ChaCha20Implementation implementation, ReadOnlySpan<byte> polyKey, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> tag)
    {
        var mac = new Poly1305(polyKey[..Poly1305.KeySize], Poly1305.DefaultVectorThreshold, implementation);
        mac.UpdatePadded(associatedData);
        mac.UpdatePadded(ciphertext);
        mac.UpdateWords((ulong)associatedData.Length, (ulong)ciphertext.Length);
        mac.Finish(tag);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteCounterNonce(Span<byte> nonce, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(nonce, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    private static void CheckKeyAndNonce(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException("ChaCha20-Poly1305 keys are 32 bytes.", nameof(key));
        }

        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException("ChaCha20-Poly1305 nonces are 12 bytes.", nameof(nonce));
        }
    }

    /// <summary>In place (same start) is fine; a shifted overlap would read bytes already overwritten.</summary>
    internal static void CheckOverlap(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination)
    {
        if (source.Overlaps(destination, out int offset) && offset != 0)
        {
            throw new ArgumentException("Source and destination overlap other than in place.", nameof(destination));
        }
    }
}
