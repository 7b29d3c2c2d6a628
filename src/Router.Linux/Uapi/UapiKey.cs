using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Linux.Uapi;

/// <summary>
/// A 32-byte WireGuard key (private, public or pre-shared) as the UAPI carries it: 64 hex digits. A value type, so a
/// secret never becomes a string or a heap array; <see cref="Clear"/> wipes it.
/// </summary>
[InlineArray(Size)]
public struct UapiKey
{
    public const int Size = 32;

    private byte _element0;

    /// <summary>True when all 32 bytes are zero (wireguard-go's "no key" for private and pre-shared keys).</summary>
    public readonly bool IsZero
    {
        get
        {
            ReadOnlySpan<byte> bytes = this;
            return !bytes.ContainsAnyExcept((byte)0);
        }
    }

    /// <summary>Builds a key from 32 bytes.</summary>
    public static UapiKey From(ReadOnlySpan<byte> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(bytes.Length, Size);
        UapiKey key = default;
        bytes.CopyTo(key);
        return key;
    }

    /// <summary>Constant-time comparison (keys can be secrets).</summary>
    public readonly bool FixedTimeEquals(in UapiKey other)
    {
        ReadOnlySpan<byte> a = this;
        ReadOnlySpan<byte> b = other;
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    /// <summary>Wipes the key.</summary>
    public void Clear()
    {
        Span<byte> bytes = this;
        CryptographicOperations.ZeroMemory(bytes);
    }

    /// <summary>Parses exactly 64 hex digits (either case, as Go's encoding/hex accepts).</summary>
    internal static bool TryParseHex(ReadOnlySpan<byte> hex, out UapiKey key)
    {
        key = default;
        if (hex.Length != Size * 2)
            return false;
        Span<byte> bytes = key;
        for (int i = 0; i < Size; i++)
        {
            int high = HexValue(hex[2 * i]), low = HexValue(hex[2 * i + 1]);
            if ((high | low) < 0)
            {
                key.Clear();
                return false;
            }
            bytes[i] = (byte)((high << 4) | low);
        }
        return true;
    }

    /// <summary>Writes 64 lowercase hex digits.</summary>
    internal readonly void WriteHex(Span<byte> destination)
    {
        ReadOnlySpan<byte> bytes = this;
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (int i = 0; i < Size; i++)
        {
            destination[2 * i] = digits[bytes[i] >> 4];
            destination[2 * i + 1] = digits[bytes[i] & 0xf];
        }
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
