using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 section 2): a 24-byte nonce, safe to pick at random.
/// subkey = HChaCha20(key, nonce[0..16]); then ChaCha20-Poly1305 with the subkey and nonce 0^4 || nonce[16..24].
/// WireGuard uses it for cookie replies. Same in-place and failure rules as <see cref="ChaCha20Poly1305"/>.
/// </summary>
public static class XChaCha20Poly1305
{
    /// <summary>Key size in bytes.</summary>
    public const int KeySize = 32;

    /// <summary>Nonce size in bytes.</summary>
    public const int NonceSize = 24;

    /// <summary>Tag size in bytes.</summary>
    public const int TagSize = 16;

    /// <summary>Encrypts <paramref name="plaintext"/> into <paramref name="ciphertextAndTag"/> (plaintext.Length + 16 bytes).</summary>
    public static void Encrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertextAndTag) =>
        Encrypt(ChaCha20.Selected, key, nonce, plaintext, associatedData, ciphertextAndTag);

    /// <summary>Decrypts and authenticates; false on a wrong tag, and then <paramref name="plaintext"/> is zeroed.</summary>
    public static bool Decrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext) =>
        Decrypt(ChaCha20.Selected, key, nonce, ciphertextAndTag, associatedData, plaintext);

    internal static void Encrypt(ChaCha20Implementation implementation, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> ciphertextAndTag)
    {
        CheckKeyAndNonce(key, nonce);
        if (ciphertextAndTag.Length != plaintext.Length + TagSize)
        {
            throw new ArgumentException("The destination must be plaintext.Length + 16 bytes.", nameof(ciphertextAndTag));
        }

        ChaCha20Poly1305.CheckOverlap(plaintext, ciphertextAndTag);
        Span<uint> state = stackalloc uint[16];
        InitializeState(state, key, nonce);
        ChaCha20Poly1305.Seal(implementation, state, plaintext, associatedData, ciphertextAndTag[..plaintext.Length], ciphertextAndTag[plaintext.Length..]);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(state));
    }

    internal static bool Decrypt(ChaCha20Implementation implementation, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertextAndTag, ReadOnlySpan<byte> associatedData, Span<byte> plaintext)
    {
        CheckKeyAndNonce(key, nonce);
        if (ciphertextAndTag.Length < TagSize || plaintext.Length != ciphertextAndTag.Length - TagSize)
        {
            throw new ArgumentException("The destination must be ciphertextAndTag.Length - 16 bytes.", nameof(plaintext));
        }

        ChaCha20Poly1305.CheckOverlap(ciphertextAndTag, plaintext);
        Span<uint> state = stackalloc uint[16];
        InitializeState(state, key, nonce);
        bool ok = ChaCha20Poly1305.Open(implementation, state, ciphertextAndTag[..plaintext.Length], ciphertextAndTag[plaintext.Length..], associatedData, plaintext);
        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(state));
        return ok;
    }

    private static void InitializeState(Span<uint> state, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        Span<byte> subkey = stackalloc byte[KeySize];
        Span<byte> chachaNonce = stackalloc byte[ChaCha20.NonceSize];
        ChaCha20.HChaCha20(key, nonce[..16], subkey);
        chachaNonce[..4].Clear();
        nonce[16..].CopyTo(chachaNonce[4..]);
        ChaCha20.InitializeState(state, subkey, 0, chachaNonce);
        CryptographicOperations.ZeroMemory(subkey);
    }

    private static void CheckKeyAndNonce(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException("XChaCha20-Poly1305 keys are 32 bytes.", nameof(key));
        }

        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException("XChaCha20-Poly1305 nonces are 24 bytes.", nameof(nonce));
        }
    }
}
