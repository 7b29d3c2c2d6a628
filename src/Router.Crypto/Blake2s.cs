namespace Router.Crypto;

/// <summary>
/// BLAKE2s (RFC 7693), one-shot. WireGuard uses BLAKE2s-256 as HASH and BLAKE2s-128 keyed for mac1/mac2 and cookies.
/// See <see cref="Blake2sState"/> for the incremental form.
/// </summary>
public static class Blake2s
{
    /// <summary>Largest digest, in bytes.</summary>
    public const int MaxOutputLength = 32;

    /// <summary>Largest key, in bytes.</summary>
    public const int MaxKeyLength = 32;

    /// <summary>Initialization vector (RFC 7693 section 2.6), the same as SHA-256's.</summary>
    internal static ReadOnlySpan<uint> IV =>
    [
        0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
        0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u,
    ];

    /// <summary>Unkeyed hash; the digest length is <paramref name="output"/>.Length (1..32).</summary>
    public static void Hash(ReadOnlySpan<byte> input, Span<byte> output)
    {
        var state = new Blake2sState(output.Length);
        state.Update(input);
        state.Finish(output);
    }

    /// <summary>Keyed hash (BLAKE2s MAC) with a 1..32-byte key; the digest length is <paramref name="output"/>.Length (1..32).</summary>
    public static void KeyedHash(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> output)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("A keyed BLAKE2s needs a 1..32-byte key.", nameof(key));
        }

        var state = new Blake2sState(output.Length, key);
        state.Update(input);
        state.Finish(output);
    }
}
