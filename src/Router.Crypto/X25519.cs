using System.Security.Cryptography;
using NSec.Cryptography;
using NSecKey = NSec.Cryptography.Key;
using NSecPublicKey = NSec.Cryptography.PublicKey;

namespace Router.Crypto;

/// <summary>
/// X25519 Diffie-Hellman (RFC 7748 section 5) through libsodium (NSec.Cryptography), which is audited and
/// constant-time. Private keys are clamped as WireGuard does; an all-zero shared secret (a low-order public key)
/// is a failure, as the whitepaper requires.
/// Allocation: NSec wraps keys and secrets in heap objects (Key, PublicKey, SharedSecret, and the exported
/// byte[]); this happens once per DH in the handshake, never per packet. Temporary copies are zeroed here;
/// NSec keeps the private key in libsodium's guarded memory and frees it on Dispose.
/// </summary>
public static class X25519
{
    /// <summary>Size of private keys, public keys and shared secrets in bytes.</summary>
    public const int KeySize = 32;

    private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;

    /// <summary>Fills <paramref name="privateKey"/> with 32 random bytes from the OS CSPRNG, clamped.</summary>
    public static void GeneratePrivateKey(Span<byte> privateKey)
    {
        CheckSize(privateKey.Length, nameof(privateKey));
        RandomNumberGenerator.Fill(privateKey);
        Clamp(privateKey);
    }

    /// <summary>Computes the public key X25519(privateKey, 9).</summary>
    public static void DerivePublicKey(ReadOnlySpan<byte> privateKey, Span<byte> publicKey)
    {
        CheckSize(privateKey.Length, nameof(privateKey));
        CheckSize(publicKey.Length, nameof(publicKey));
        using NSecKey key = NSecKey.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey);
        if (!key.PublicKey.TryExport(KeyBlobFormat.RawPublicKey, publicKey, out int written) || written != KeySize)
        {
            throw new CryptographicException("libsodium did not return a 32-byte X25519 public key.");
        }
    }

    /// <summary>
    /// Computes X25519(privateKey, publicKey). Returns false, with <paramref name="sharedSecret"/> zeroed, when the
    /// result is all zero (the peer sent a low-order point) or libsodium rejects the point.
    /// </summary>
    public static bool TryAgree(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> sharedSecret)
    {
        CheckSize(privateKey.Length, nameof(privateKey));
        CheckSize(publicKey.Length, nameof(publicKey));
        CheckSize(sharedSecret.Length, nameof(sharedSecret));

        using NSecKey key = NSecKey.Import(Algorithm, privateKey, KeyBlobFormat.RawPrivateKey);
        NSecPublicKey peer = NSecPublicKey.Import(Algorithm, publicKey, KeyBlobFormat.RawPublicKey);
        var parameters = new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        using SharedSecret? secret = Algorithm.Agree(key, peer, in parameters);
        if (secret is null)
        {
            // libsodium's crypto_scalarmult fails exactly when the result is all zero.
            CryptographicOperations.ZeroMemory(sharedSecret);
            return false;
        }

        byte[] raw = secret.Export(SharedSecretBlobFormat.RawSharedSecret);
        raw.CopyTo(sharedSecret);
        CryptographicOperations.ZeroMemory(raw);

        if (ConstantTime.IsZero(sharedSecret))
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            return false;
        }

        return true;
    }

    /// <summary>Clamps a private key in place (RFC 7748 section 5): clear bits 0..2 and 255, set bit 254.</summary>
    public static void Clamp(Span<byte> key)
    {
        CheckSize(key.Length, nameof(key));
        key[0] &= 248;
        key[31] = (byte)((key[31] & 127) | 64);
    }

    private static void CheckSize(int length, string name)
    {
        if (length != KeySize)
        {
            throw new ArgumentException("X25519 keys and secrets are 32 bytes.", name);
        }
    }
}
