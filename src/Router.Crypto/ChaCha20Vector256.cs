using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Router.Crypto;

/// <summary>
/// ChaCha20 on 8 blocks at once with AVX2. Same vertical layout as <see cref="ChaCha20Vector128"/>; the final
/// transpose uses in-lane unpacks and then swaps 128-bit halves, since AVX2 shuffles do not cross lanes.
/// </summary>
internal static class ChaCha20Vector256
{
    /// <summary>XORs 512 bytes of keystream (blocks counter..counter+7). Requires AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Xor8Blocks(ReadOnlySpan<uint> state, uint counter, ref byte source, ref byte destination)
    {
        Vector256<uint> x0 = Vector256.Create(state[0]), x1 = Vector256.Create(state[1]);
        Vector256<uint> x2 = Vector256.Create(state[2]), x3 = Vector256.Create(state[3]);
        Vector256<uint> x4 = Vector256.Create(state[4]), x5 = Vector256.Create(state[5]);
        Vector256<uint> x6 = Vector256.Create(state[6]), x7 = Vector256.Create(state[7]);
        Vector256<uint> x8 = Vector256.Create(state[8]), x9 = Vector256.Create(state[9]);
        Vector256<uint> x10 = Vector256.Create(state[10]), x11 = Vector256.Create(state[11]);
        Vector256<uint> x12 = Vector256.Create(counter) + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        Vector256<uint> x13 = Vector256.Create(state[13]), x14 = Vector256.Create(state[14]);
        Vector256<uint> x15 = Vector256.Create(state[15]);
        Vector256<uint> counters = x12;

        for (int i = 0; i < 10; i++)
        {
            QuarterRound(ref x0, ref x4, ref x8, ref x12);
            QuarterRound(ref x1, ref x5, ref x9, ref x13);
            QuarterRound(ref x2, ref x6, ref x10, ref x14);
            QuarterRound(ref x3, ref x7, ref x11, ref x15);
            QuarterRound(ref x0, ref x5, ref x10, ref x15);
            QuarterRound(ref x1, ref x6, ref x11, ref x12);
            QuarterRound(ref x2, ref x7, ref x8, ref x13);
            QuarterRound(ref x3, ref x4, ref x9, ref x14);
        }

        x0 += Vector256.Create(state[0]); x1 += Vector256.Create(state[1]);
        x2 += Vector256.Create(state[2]); x3 += Vector256.Create(state[3]);
        x4 += Vector256.Create(state[4]); x5 += Vector256.Create(state[5]);
        x6 += Vector256.Create(state[6]); x7 += Vector256.Create(state[7]);
        x8 += Vector256.Create(state[8]); x9 += Vector256.Create(state[9]);
        x10 += Vector256.Create(state[10]); x11 += Vector256.Create(state[11]);
        x12 += counters; x13 += Vector256.Create(state[13]);
        x14 += Vector256.Create(state[14]); x15 += Vector256.Create(state[15]);

        // After the in-lane transposes, x0 = [block0 words 0..3 | block4 words 0..3], x1 = [block1 | block5], ...
        Transpose(ref x0, ref x1, ref x2, ref x3);
        Transpose(ref x4, ref x5, ref x6, ref x7);
        Transpose(ref x8, ref x9, ref x10, ref x11);
        Transpose(ref x12, ref x13, ref x14, ref x15);

        Store(x0, x4, x8, x12, ref source, ref destination, 0);
        Store(x1, x5, x9, x13, ref source, ref destination, 64);
        Store(x2, x6, x10, x14, ref source, ref destination, 128);
        Store(x3, x7, x11, x15, ref source, ref destination, 192);
    }

    /// <summary>Writes block j (low halves) at <paramref name="offset"/> and block j+4 (high halves) 256 bytes later.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<uint> w0, Vector256<uint> w4, Vector256<uint> w8, Vector256<uint> w12, ref byte source, ref byte destination, nuint offset)
    {
        XorStore(Avx2.Permute2x128(w0, w4, 0x20), ref source, ref destination, offset);
        XorStore(Avx2.Permute2x128(w8, w12, 0x20), ref source, ref destination, offset + 32);
        XorStore(Avx2.Permute2x128(w0, w4, 0x31), ref source, ref destination, offset + 256);
        XorStore(Avx2.Permute2x128(w8, w12, 0x31), ref source, ref destination, offset + 288);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void XorStore(Vector256<uint> keystream, ref byte source, ref byte destination, nuint offset)
    {
        Vector256<byte> data = Vector256.LoadUnsafe(ref source, offset);
        (data ^ keystream.AsByte()).StoreUnsafe(ref destination, offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuarterRound(ref Vector256<uint> a, ref Vector256<uint> b, ref Vector256<uint> c, ref Vector256<uint> d)
    {
        a += b; d ^= a; d = RotateLeft(d, 16);
        c += d; b ^= c; b = RotateLeft(b, 12);
        a += b; d ^= a; d = RotateLeft(d, 8);
        c += d; b ^= c; b = RotateLeft(b, 7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> RotateLeft(Vector256<uint> v, [ConstantExpected] byte count)
    {
        // AVX-512VL has a real rotate (vprold); otherwise byte-multiple rotations are one in-lane byte shuffle.
        if (Avx512F.VL.IsSupported)
        {
            return Avx512F.VL.RotateLeft(v, count);
        }

        if (count == 16)
        {
            return Avx2.Shuffle(v.AsByte(), Vector256.Create((byte)2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)).AsUInt32();
        }

        if (count == 8)
        {
            return Avx2.Shuffle(v.AsByte(), Vector256.Create((byte)3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14)).AsUInt32();
        }

        return (v << count) | (v >>> (32 - count));
    }

    /// <summary>4x4 transpose of 32-bit lanes inside each 128-bit half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector256<uint> a, ref Vector256<uint> b, ref Vector256<uint> c, ref Vector256<uint> d)
    {
        Vector256<ulong> t0 = Avx2.UnpackLow(a, b).AsUInt64();
        Vector256<ulong> t1 = Avx2.UnpackHigh(a, b).AsUInt64();
        Vector256<ulong> t2 = Avx2.UnpackLow(c, d).AsUInt64();
        Vector256<ulong> t3 = Avx2.UnpackHigh(c, d).AsUInt64();
        a = Avx2.UnpackLow(t0, t2).AsUInt32();
        b = Avx2.UnpackHigh(t0, t2).AsUInt32();
        c = Avx2.UnpackLow(t1, t3).AsUInt32();
        d = Avx2.UnpackHigh(t1, t3).AsUInt32();
    }
}
