using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Tunnel.Noise;

/// <summary>32 bytes held by value: keys, the chaining key and the hash. Cleared explicitly when secret.</summary>
[InlineArray(32)]
internal struct Bytes32
{
    private byte _element0;

    public static Bytes32 From(ReadOnlySpan<byte> source)
    {
        var value = default(Bytes32);
        source[..32].CopyTo(value);
        return value;
    }

    public void Clear() => CryptographicOperations.ZeroMemory(this);

    public bool IsZero()
    {
        ReadOnlySpan<byte> s = this;
        int acc = 0;
        for (int i = 0; i < s.Length; i++)
            acc |= s[i];
        return acc == 0;
    }

    /// <summary>Constant-time comparison.</summary>
    public bool Matches(ReadOnlySpan<byte> other) => CryptographicOperations.FixedTimeEquals(this, other);
}

/// <summary>16 bytes held by value: mac1 keys' outputs, cookies.</summary>
[InlineArray(16)]
internal struct Bytes16
{
    private byte _element0;

    public void Clear() => CryptographicOperations.ZeroMemory(this);
}

/// <summary>12 bytes: a TAI64N timestamp.</summary>
[InlineArray(12)]
internal struct Bytes12
{
    private byte _element0;
}
