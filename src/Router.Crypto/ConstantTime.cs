using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// Comparisons whose running time depends only on the lengths of their inputs, never on their contents,
/// so that tags, keys and shared secrets leak nothing through timing.
/// </summary>
public static class ConstantTime
{
    /// <summary>True when both spans have the same length and the same bytes. Lengths are not secret.</summary>
    public static bool Equals(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        CryptographicOperations.FixedTimeEquals(a, b);

    /// <summary>True when every byte is zero (e.g. an X25519 result from a low-order point).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static bool IsZero(ReadOnlySpan<byte> a)
    {
        // OR every byte together; no early exit, so the time does not reveal where a non-zero byte sits.
        int accumulator = 0;
        for (int i = 0; i < a.Length; i++)
        {
            accumulator |= a[i];
        }

        return ((accumulator - 1) >> 31 & 1) == 1;
    }
}
