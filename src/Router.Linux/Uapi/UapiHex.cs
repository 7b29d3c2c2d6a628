using Router.Crypto;

namespace Router.Linux.Uapi;

/// <summary>
/// A 32-byte WireGuard key (private, public or pre-shared) as the UAPI carries it: 64 hex digits, parsed straight
/// into a <see cref="Key32"/> so a secret never becomes a string or a heap array.
/// </summary>
internal static class UapiHex
{
    /// <summary>Parses exactly 64 hex digits (either case, as Go's encoding/hex accepts); the key is wiped on failure.</summary>
    public static bool TryParseKey(ReadOnlySpan<byte> hex, out Key32 key)
    {
        key = default;
        if (hex.Length != Key32.Size * 2)
            return false;
        Span<byte> bytes = key;
        for (int i = 0; i < Key32.Size; i++)
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
    public static void Write(in Key32 key, Span<byte> destination)
    {
        ReadOnlySpan<byte> bytes = key;
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (int i = 0; i < Key32.Size; i++)
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
