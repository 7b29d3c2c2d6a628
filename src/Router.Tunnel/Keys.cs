using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Tunnel;

/// <summary>
/// A Curve25519 public key: a peer's identity. Not secret, so it compares and hashes by value and prints (the
/// short form names peers in logs).
/// </summary>
public readonly struct PublicKey : IEquatable<PublicKey>
{
    public const int Size = 32;

    private readonly ulong _a, _b, _c, _d;

    public PublicKey(ReadOnlySpan<byte> bytes32)
    {
        if (bytes32.Length != Size)
            throw new ArgumentException("A public key is 32 bytes.", nameof(bytes32));
        _a = BinaryPrimitives.ReadUInt64LittleEndian(bytes32);
        _b = BinaryPrimitives.ReadUInt64LittleEndian(bytes32[8..]);
        _c = BinaryPrimitives.ReadUInt64LittleEndian(bytes32[16..]);
        _d = BinaryPrimitives.ReadUInt64LittleEndian(bytes32[24..]);
    }

    public bool IsZero => (_a | _b | _c | _d) == 0;

    public void CopyTo(Span<byte> destination32)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination32, _a);
        BinaryPrimitives.WriteUInt64LittleEndian(destination32[8..], _b);
        BinaryPrimitives.WriteUInt64LittleEndian(destination32[16..], _c);
        BinaryPrimitives.WriteUInt64LittleEndian(destination32[24..], _d);
    }

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

    public bool Equals(PublicKey other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is PublicKey other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _d);

    public static bool operator ==(PublicKey left, PublicKey right) => left.Equals(right);

    public static bool operator !=(PublicKey left, PublicKey right) => !left.Equals(right);
}
