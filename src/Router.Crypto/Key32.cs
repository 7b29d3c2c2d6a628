using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// A 32-byte key held inline (no heap object, no copy in a string): X25519 private and public keys,
/// pre-shared keys, chaining keys and session keys. Equality runs in constant time and
/// <see cref="ToString"/> never shows the bytes, so a key that reaches a log line stays secret.
/// </summary>
[InlineArray(Size)]
public struct Key32 : IEquatable<Key32>
{
    /// <summary>The key length in bytes.</summary>
    public const int Size = 32;

    private byte _element0;

    /// <summary>Copies <paramref name="source"/>, which must be exactly 32 bytes.</summary>
    public Key32(ReadOnlySpan<byte> source)
    {
        if (source.Length != Size)
        {
            throw new ArgumentException("A Key32 needs exactly 32 bytes.", nameof(source));
        }

        source.CopyTo(AsSpan());
    }

    /// <summary>Copies exactly 32 bytes: the one way every project builds a key from bytes.</summary>
    public static Key32 From(ReadOnlySpan<byte> source) => new(source);

    /// <summary>True when every byte is zero (an unset key). Runs in constant time.</summary>
    public readonly bool IsZero => ConstantTime.IsZero(AsReadOnlySpan());

    /// <summary>The bytes, writable, in place.</summary>
    [UnscopedRef]
    public Span<byte> AsSpan() => MemoryMarshal.CreateSpan(ref _element0, Size);

    /// <summary>The bytes, read-only, in place.</summary>
    [UnscopedRef]
    public readonly ReadOnlySpan<byte> AsReadOnlySpan() => MemoryMarshal.CreateReadOnlySpan(in _element0, Size);

    /// <summary>Overwrites the key with zeros in a way the JIT cannot elide.</summary>
    public void Clear() => CryptographicOperations.ZeroMemory(AsSpan());

    /// <summary>Constant-time comparison with 32 bytes held elsewhere.</summary>
    public readonly bool Matches(ReadOnlySpan<byte> other) => other.Length == Size && ConstantTime.Equals(AsReadOnlySpan(), other);

    /// <summary>Constant-time equality.</summary>
    public readonly bool Equals(Key32 other) => ConstantTime.Equals(AsReadOnlySpan(), other.AsReadOnlySpan());

    /// <inheritdoc />
    public override readonly bool Equals(object? obj) => obj is Key32 other && Equals(other);

    /// <summary>
    /// A per-process randomized hash (System.HashCode), so public keys can index a dictionary.
    /// It is not a fingerprint and reveals nothing stable about the bytes.
    /// </summary>
    public override readonly int GetHashCode()
    {
        HashCode hash = default;
        hash.AddBytes(AsReadOnlySpan());
        return hash.ToHashCode();
    }

    /// <summary>Never prints the bytes: keys must not reach logs.</summary>
    public override readonly string ToString() => "Key32(32 bytes, redacted)";

    /// <summary>Constant-time equality.</summary>
    public static bool operator ==(Key32 left, Key32 right) => left.Equals(right);

    /// <summary>Constant-time inequality.</summary>
    public static bool operator !=(Key32 left, Key32 right) => !left.Equals(right);
}
