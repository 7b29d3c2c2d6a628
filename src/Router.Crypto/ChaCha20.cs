using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// The ChaCha20 stream cipher (RFC 8439 section 2.3/2.4: 32-bit block counter, 96-bit nonce) and HChaCha20
/// (draft-irtf-cfrg-xchacha section 2.2). Holds the scalar block function and the dispatch over the SIMD paths:
/// the widest path the CPU runs well handles full chunks, narrower ones the tail (as dotnet/runtime's Base64 helpers do).
/// </summary>
internal static class ChaCha20
{
    public const int KeySize = 32;
    public const int NonceSize = 12;
    public const int BlockSize = 64;

    /// <summary>The path chosen for this process at start-up.</summary>
    public static readonly ChaCha20Implementation Selected = Select();

    /// <summary>"expand 32-byte k" as four little-endian words (RFC 8439 section 2.3).</summary>
    public const uint Sigma0 = 0x61707865, Sigma1 = 0x3320646e, Sigma2 = 0x79622d32, Sigma3 = 0x6b206574;

    /// <summary>True when this CPU (and runtime configuration) can execute <paramref name="implementation"/>.</summary>
    public static bool IsSupported(ChaCha20Implementation implementation) => implementation switch
    {
        ChaCha20Implementation.Scalar => true,
        ChaCha20Implementation.Vector128 => Vector128.IsHardwareAccelerated,
        ChaCha20Implementation.Vector256 => Avx2.IsSupported,
        ChaCha20Implementation.Vector512 => Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>Human-readable name of a path, including the instruction set Vector128 lowers to.</summary>
    public static string NameOf(ChaCha20Implementation implementation) => implementation switch
    {
        ChaCha20Implementation.Vector512 => "Vector512",
        ChaCha20Implementation.Vector256 => "Vector256",
        ChaCha20Implementation.Vector128 => AdvSimd.IsSupported ? "Vector128 (AdvSimd)" : Sse2.IsSupported ? "Vector128 (SSE)" : "Vector128",
        _ => "Scalar",
    };

    private static ChaCha20Implementation Select()
    {
        // Vector512.IsHardwareAccelerated is false on CPUs where the runtime judges 512-bit code a net loss
        // (frequency throttling); honour that for the default but keep the path testable via IsSupported.
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            return ChaCha20Implementation.Vector512;
        }

        if (Avx2.IsSupported && Vector256.IsHardwareAccelerated)
        {
            return ChaCha20Implementation.Vector256;
        }

        return Vector128.IsHardwareAccelerated ? ChaCha20Implementation.Vector128 : ChaCha20Implementation.Scalar;
    }

    /// <summary>Loads key, counter and nonce into the 16-word initial state.</summary>
    public static void InitializeState(Span<uint> state, ReadOnlySpan<byte> key, uint counter, ReadOnlySpan<byte> nonce)
    {
        state[0] = Sigma0;
        state[1] = Sigma1;
        state[2] = Sigma2;
        state[3] = Sigma3;
        for (int i = 0; i < 8; i++)
        {
            state[4 + i] = BinaryPrimitives.ReadUInt32LittleEndian(key[(i * 4)..]);
        }

        state[12] = counter;
        state[13] = BinaryPrimitives.ReadUInt32LittleEndian(nonce);
        state[14] = BinaryPrimitives.ReadUInt32LittleEndian(nonce[4..]);
        state[15] = BinaryPrimitives.ReadUInt32LittleEndian(nonce[8..]);
    }

    /// <summary>
    /// XORs the keystream starting at block <c>state[12]</c> into <paramref name="source"/>, writing <paramref name="destination"/>.
    /// The two may be the same memory (in place) but must not otherwise overlap.
    /// </summary>
    public static void Xor(ChaCha20Implementation implementation, ReadOnlySpan<uint> state, ReadOnlySpan<byte> source, Span<byte> destination)
    {
        Span<uint> working = stackalloc uint[16];
        state.CopyTo(working);
        uint counter = working[12];
        ref byte src = ref MemoryMarshal.GetReference(source);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        nuint offset = 0;
        nuint length = (nuint)source.Length;

        if (implementation >= ChaCha20Implementation.Vector512)
        {
            while (length - offset >= 16 * BlockSize)
            {
                ChaCha20Vector512.Xor16Blocks(working, counter, ref Unsafe.Add(ref src, offset), ref Unsafe.Add(ref dst, offset));
                counter += 16;
                offset += 16 * BlockSize;
            }
        }

        if (implementation >= ChaCha20Implementation.Vector256)
        {
            while (length - offset >= 8 * BlockSize)
            {
                ChaCha20Vector256.Xor8Blocks(working, counter, ref Unsafe.Add(ref src, offset), ref Unsafe.Add(ref dst, offset));
                counter += 8;
                offset += 8 * BlockSize;
            }
        }

        if (implementation >= ChaCha20Implementation.Vector128)
        {
            while (length - offset >= 4 * BlockSize)
            {
                ChaCha20Vector128.Xor4Blocks(working, counter, ref Unsafe.Add(ref src, offset), ref Unsafe.Add(ref dst, offset));
                counter += 4;
                offset += 4 * BlockSize;
            }

            if (length - offset > BlockSize)
            {
                // 65..255 bytes left: one 4-block pass over a padded copy beats up to four scalar blocks.
                Span<byte> tail = stackalloc byte[4 * BlockSize];
                int rest = (int)(length - offset);
                tail.Clear();
                source[(int)offset..].CopyTo(tail);
                ref byte t = ref MemoryMarshal.GetReference(tail);
                ChaCha20Vector128.Xor4Blocks(working, counter, ref t, ref t);
                tail[..rest].CopyTo(destination[(int)offset..]);
                CryptographicOperations.ZeroMemory(tail);
                offset = length;
            }
        }

        if (offset < length)
        {
            Span<byte> block = stackalloc byte[BlockSize];
            while (offset < length)
            {
                working[12] = counter++;
                Block(working, block);
                int n = (int)Math.Min(length - offset, BlockSize);
                for (int i = 0; i < n; i++)
                {
                    Unsafe.Add(ref dst, offset + (nuint)i) = (byte)(Unsafe.Add(ref src, offset + (nuint)i) ^ block[i]);
                }

                offset += (nuint)n;
            }

            CryptographicOperations.ZeroMemory(block);
        }

        CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(working));
    }

    /// <summary>The block function (RFC 8439 section 2.3): 20 rounds, then the input state is added. Writes 64 bytes.</summary>
    public static void Block(ReadOnlySpan<uint> state, Span<byte> output)
    {
        uint x0 = state[0], x1 = state[1], x2 = state[2], x3 = state[3];
        uint x4 = state[4], x5 = state[5], x6 = state[6], x7 = state[7];
        uint x8 = state[8], x9 = state[9], x10 = state[10], x11 = state[11];
        uint x12 = state[12], x13 = state[13], x14 = state[14], x15 = state[15];

        for (int i = 0; i < 10; i++)
        {
            DoubleRound(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7,
                ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(output, x0 + state[0]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[4..], x1 + state[1]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[8..], x2 + state[2]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[12..], x3 + state[3]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[16..], x4 + state[4]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[20..], x5 + state[5]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[24..], x6 + state[6]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[28..], x7 + state[7]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[32..], x8 + state[8]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[36..], x9 + state[9]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[40..], x10 + state[10]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[44..], x11 + state[11]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[48..], x12 + state[12]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[52..], x13 + state[13]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[56..], x14 + state[14]);
        BinaryPrimitives.WriteUInt32LittleEndian(output[60..], x15 + state[15]);
    }

    /// <summary>
    /// HChaCha20 (draft-irtf-cfrg-xchacha section 2.2): the 20 rounds over key and a 16-byte nonce,
    /// without the final addition, output words 0..3 and 12..15 as a 32-byte subkey.
    /// </summary>
    public static void HChaCha20(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce16, Span<byte> subkey)
    {
        uint x0 = Sigma0, x1 = Sigma1, x2 = Sigma2, x3 = Sigma3;
        uint x4 = BinaryPrimitives.ReadUInt32LittleEndian(key);
        uint x5 = BinaryPrimitives.ReadUInt32LittleEndian(key[4..]);
        uint x6 = BinaryPrimitives.ReadUInt32LittleEndian(key[8..]);
        uint x7 = BinaryPrimitives.ReadUInt32LittleEndian(key[12..]);
        uint x8 = BinaryPrimitives.ReadUInt32LittleEndian(key[16..]);
        uint x9 = BinaryPrimitives.ReadUInt32LittleEndian(key[20..]);
        uint x10 = BinaryPrimitives.ReadUInt32LittleEndian(key[24..]);
        uint x11 = BinaryPrimitives.ReadUInt32LittleEndian(key[28..]);
        uint x12 = BinaryPrimitives.ReadUInt32LittleEndian(nonce16);
        uint x13 = BinaryPrimitives.ReadUInt32LittleEndian(nonce16[4..]);
        uint x14 = BinaryPrimitives.ReadUInt32LittleEndian(nonce16[8..]);
        uint x15 = BinaryPrimitives.ReadUInt32LittleEndian(nonce16[12..]);

        for (int i = 0; i < 10; i++)
        {
            DoubleRound(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7,
                ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(subkey, x0);
        BinaryPrimitives.WriteUInt32LittleEndian(subkey[4..], x1);
        BinaryPrimitives.WriteUInt32LittleEndian(subkey[8..], x2);
        BinaryPrimitives.WriteUInt32LittleEndian(subkey[12..], x3);
        BinaryPrimitives.WriteUInt32LittleEndian(subkey[16..], x12);
        BinaryPrimitives.WriteUInt32LittleEndian(subkey[20..], x13);
        BinaryPrimitives.WriteUInt32LittleEndian(subkey[24..], x14);
        BinaryPrimitives.WriteUInt32LittleEndian(subkey[28..], x15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DoubleRound(
        ref uint x0, ref uint x1, ref uint x2, ref uint x3, ref uint x4, ref uint x5, ref uint x6, ref uint x7,
        ref uint x8, ref uint x9, ref uint x10, ref uint x11, ref uint x12, ref uint x13, ref uint x14, ref uint x15)
    {
        // Column round, then diagonal round (RFC 8439 section 2.3).
        QuarterRound(ref x0, ref x4, ref x8, ref x12);
        QuarterRound(ref x1, ref x5, ref x9, ref x13);
        QuarterRound(ref x2, ref x6, ref x10, ref x14);
        QuarterRound(ref x3, ref x7, ref x11, ref x15);
        QuarterRound(ref x0, ref x5, ref x10, ref x15);
        QuarterRound(ref x1, ref x6, ref x11, ref x12);
        QuarterRound(ref x2, ref x7, ref x8, ref x13);
        QuarterRound(ref x3, ref x4, ref x9, ref x14);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuarterRound(ref uint a, ref uint b, ref uint c, ref uint d)
    {
        a += b; d = BitOperations.RotateLeft(d ^ a, 16);
        c += d; b = BitOperations.RotateLeft(b ^ c, 12);
        a += b; d = BitOperations.RotateLeft(d ^ a, 8);
        c += d; b = BitOperations.RotateLeft(b ^ c, 7);
    }
}
