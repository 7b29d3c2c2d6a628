using Router.Crypto;

namespace Router.Tunnel;

/// <summary>
/// A Curve25519 public key: a peer's identity. Not secret, so it compares and hashes by value and prints (the
/// short form names peers in logs).
/// </summary>
public readonly struct PublicKey : IEquatable<PublicKey>
{
    public const int Size = Key32.Size;

    // The one 32-byte key type of every layer (Router.Crypto.Key32): constant-time equality, a randomized hash.
    private readonly Key32 _bytes;

    public PublicKey(ReadOnlySpan<byte> bytes32)
    {
        if (bytes32.Length != Size)
            throw new ArgumentException("A public key is 32 bytes.", nameof(bytes32));
        _bytes = Key32.From(bytes32);
    }

    public bool IsZero => _bytes.IsZero;

    public void CopyTo(Span<byte> destination32) => _bytes.AsReadOnlySpan().CopyTo(destination32);

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        CopyTo(bytes);
        return bytes;
    }

    public static PublicKey FromBase64(string base64) => new(Convert.FromBase64String(base64));

    public static PublicKey FromHex(string hex) => new(Convert.FromHexString(hex));

    public string ToBase64() => Convert.ToBase64String(ToArray());

    /// <summary>Lowercase hex, as the UAPI socket speaks it.</summary>
    public string ToHex() => Convert.ToHexStringLower(ToArray());

    /// <summary>The first characters of the base64 form: enough to name a peer in a log line.</summary>
    public override string ToString() => ToBase64()[..8] + "…";

    public bool Equals(PublicKey other) => _bytes.Equals(other._bytes);

    public override bool Equals(object? obj) => obj is PublicKey other && Equals(other);

    public override int GetHashCode() => _bytes.GetHashCode();

    public static bool operator ==(PublicKey left, PublicKey right) => left.Equals(right);

    public static bool operator !=(PublicKey left, PublicKey right) => !left.Equals(right);
}
