using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Daemon.Config;

/// <summary>
/// A Curve25519 public key: 32 bytes held by value. Public keys are not secret, so this one may print itself
/// (base64, as wg shows it); equality is still constant-time because a peer's identity is compared with it.
/// </summary>
internal readonly struct PublicKey : IEquatable<PublicKey>
{
    public const int Size = 32;

    /// <summary>Length of the base64 text of a 32-byte key, as wg(8) writes it: 43 characters and one '='.</summary>
    public const int Base64Length = 44;

    private readonly Router.Crypto.Key32 _bytes;

    public PublicKey(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException($"a key is {Size} bytes", nameof(bytes));
        bytes.CopyTo(_bytes);
    }

    // The span points into this value: [UnscopedRef] lets it escape the getter, the compiler still scopes it to the holder.
    [UnscopedRef]
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Parses the base64 form wg uses: exactly 44 characters decoding to exactly 32 bytes.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out PublicKey key)
    {
        Span<byte> buffer = stackalloc byte[Size];
        bool ok = KeyText.TryDecode(text, buffer);
        key = ok ? new PublicKey(buffer) : default;
        return ok;
    }

    public bool Equals(PublicKey other) => CryptographicOperations.FixedTimeEquals(Bytes, other.Bytes);

    public override bool Equals(object? obj) => obj is PublicKey other && Equals(other);

    public override int GetHashCode() => BitConverter.ToInt32(Bytes);

    public static bool operator ==(PublicKey left, PublicKey right) => left.Equals(right);

    public static bool operator !=(PublicKey left, PublicKey right) => !left.Equals(right);

    public override string ToString() => Convert.ToBase64String(Bytes);

    /// <summary>The first characters of the base64 form: enough to tell peers apart in a log line.</summary>
    public string ShortId => ToString()[..8];
}

/// <summary>The base64 text form of 32-byte keys shared by public keys, private keys and pre-shared keys.</summary>
internal static class KeyText
{
    /// <summary>Decodes 44 base64 characters ending in '=' into exactly 32 bytes, as wg's key_from_base64 accepts.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> key)
    {
        if (text.Length != PublicKey.Base64Length || text[^1] != '=' || text[^2] == '=' || key.Length != PublicKey.Size)
            return false;
        Span<byte> buffer = stackalloc byte[PublicKey.Size + 2];
        bool ok = Convert.TryFromBase64Chars(text, buffer, out int written) && written == PublicKey.Size;
        if (ok)
            buffer[..PublicKey.Size].CopyTo(key);
        CryptographicOperations.ZeroMemory(buffer);
        return ok;
    }

    /// <summary>The UTF-8 form of <see cref="TryDecode(ReadOnlySpan{char}, Span{byte})"/>, for key files read as bytes.</summary>
    public static bool TryDecodeUtf8(ReadOnlySpan<byte> text, Span<byte> key)
    {
        if (text.Length != PublicKey.Base64Length || text[^1] != (byte)'=' || text[^2] == (byte)'=' || key.Length != PublicKey.Size)
            return false;
        Span<byte> buffer = stackalloc byte[PublicKey.Size + 2];
        bool ok = Base64.DecodeFromUtf8(text, buffer, out int consumed, out int written) == System.Buffers.OperationStatus.Done
                  && consumed == text.Length && written == PublicKey.Size;
        if (ok)
            buffer[..PublicKey.Size].CopyTo(key);
        CryptographicOperations.ZeroMemory(buffer);
        return ok;
    }

    /// <summary>Writes the 44-character base64 form and a newline, as wg genkey/pubkey/genpsk print it.</summary>
    public static void EncodeLine(ReadOnlySpan<byte> key, Span<byte> line)
    {
        Base64.EncodeToUtf8(key, line, out _, out int written);
        line[written] = (byte)'\n';
    }
}
