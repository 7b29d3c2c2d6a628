using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// WireGuard's KDF_n (whitepaper section 5.4, Noise's HKDF): HKDF (RFC 5869) with HMAC-BLAKE2s and an empty info,
/// 32-byte outputs. PRK = HMAC(C, input); T1 = HMAC(PRK, 0x01); T2 = HMAC(PRK, T1 || 0x02); T3 = HMAC(PRK, T2 || 0x03).
/// Every output may alias the chaining key or the input (e.g. <c>Derive2(c, x, c, k)</c>): the results are
/// computed into stack buffers and copied out at the end.
/// </summary>
public static class Kdf
{
    /// <summary>Size of each output in bytes.</summary>
    public const int OutputSize = 32;

    /// <summary>KDF1: one 32-byte output.</summary>
    public static void Derive1(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1)
    {
        CheckOutput(t1, nameof(t1));
        Span<byte> outputs = stackalloc byte[OutputSize];
        Derive(chainingKey, input, outputs);
        outputs.CopyTo(t1);
        CryptographicOperations.ZeroMemory(outputs);
    }

    /// <summary>KDF2: two 32-byte outputs.</summary>
    public static void Derive2(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2)
    {
        CheckOutput(t1, nameof(t1));
        CheckOutput(t2, nameof(t2));
        Span<byte> outputs = stackalloc byte[2 * OutputSize];
        Derive(chainingKey, input, outputs);
        outputs[..OutputSize].CopyTo(t1);
        outputs[OutputSize..].CopyTo(t2);
        CryptographicOperations.ZeroMemory(outputs);
    }

    /// <summary>KDF3: three 32-byte outputs.</summary>
    public static void Derive3(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2, Span<byte> t3)
    {
        CheckOutput(t1, nameof(t1));
        CheckOutput(t2, nameof(t2));
        CheckOutput(t3, nameof(t3));
        Span<byte> outputs = stackalloc byte[3 * OutputSize];
        Derive(chainingKey, input, outputs);
        outputs[..OutputSize].CopyTo(t1);
        outputs.Slice(OutputSize, OutputSize).CopyTo(t2);
        outputs[(2 * OutputSize)..].CopyTo(t3);
        CryptographicOperations.ZeroMemory(outputs);
    }

    /// <summary>Fills <paramref name="outputs"/> (a multiple of 32 bytes) with T1 || T2 || ...</summary>
    private static void Derive(ReadOnlySpan<byte> chainingKey, ReadOnlySpan<byte> input, Span<byte> outputs)
    {
        Span<byte> prk = stackalloc byte[OutputSize];
        Span<byte> message = stackalloc byte[OutputSize + 1];
        HmacBlake2s.Compute(chainingKey, input, prk);

        int previousLength = 0;
        for (int i = 0; i * OutputSize < outputs.Length; i++)
        {
            // T(i+1) = HMAC(PRK, T(i) || i+1), with T(0) empty.
            message[previousLength] = (byte)(i + 1);
            Span<byte> t = outputs.Slice(i * OutputSize, OutputSize);
            HmacBlake2s.Compute(prk, message[..(previousLength + 1)], t);
            t.CopyTo(message);
            previousLength = OutputSize;
        }

        CryptographicOperations.ZeroMemory(prk);
        CryptographicOperations.ZeroMemory(message);
    }

    private static void CheckOutput(Span<byte> output, string name)
    {
        if (output.Length != OutputSize)
        {
            throw new ArgumentException("Each KDF output is 32 bytes.", name);
        }
    }
}
