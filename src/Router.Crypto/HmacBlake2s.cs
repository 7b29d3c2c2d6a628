using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// HMAC (RFC 2104) over BLAKE2s-256, block size 64 bytes: the PRF of WireGuard's HKDF.
/// WireGuard uses HMAC here rather than BLAKE2s's native keying, as the whitepaper's section 5.4 specifies.
/// </summary>
public static class HmacBlake2s
{
    /// <summary>The output size in bytes.</summary>
    public const int OutputSize = 32;

    private const int BlockSize = 64;

    /// <summary>
    /// Writes HMAC-BLAKE2s(key, input) to <paramref name="output32"/> (32 bytes). The output may overlap the key
    /// or the input: both are consumed before it is written.
    /// </summary>
    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output32)
    {
        if (output32.Length != OutputSize)
        {
            throw new ArgumentException("HMAC-BLAKE2s output is 32 bytes.", nameof(output32));
        }

        Span<byte> pad = stackalloc byte[BlockSize];
        Span<byte> inner = stackalloc byte[OutputSize];
        pad.Clear();
        if (key.Length > BlockSize)
        {
            Blake2s.Hash(key, pad[..OutputSize]);
        }
        else
        {
            key.CopyTo(pad);
        }

        for (int i = 0; i < BlockSize; i++)
        {
            pad[i] ^= 0x36;
        }

        var state = new Blake2sState(OutputSize);
        state.Update(pad);
        state.Update(input);
        state.Finish(inner);

        // Turn the inner pad into the outer pad: 0x36 ^ 0x5c.
        for (int i = 0; i < BlockSize; i++)
        {
            pad[i] ^= 0x36 ^ 0x5C;
        }

        state = new Blake2sState(OutputSize);
        state.Update(pad);
        state.Update(inner);
        state.Finish(output32);

        CryptographicOperations.ZeroMemory(pad);
        CryptographicOperations.ZeroMemory(inner);
    }
}
