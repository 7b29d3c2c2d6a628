using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Router.Crypto;

/// <summary>
/// ChaCha20 on 16 blocks at once with AVX-512F: vertical layout, native 32-bit rotates (vprold), and a final
/// transpose of in-lane unpacks followed by a 4x4 transpose of 128-bit lanes (vshufi32x4).
/// </summary>
internal static class ChaCha20Vector512
{
    /// <summary>XORs 1024 bytes of keystream (blocks counter..counter+15). Requires AVX-512F.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Xor16Blocks(ReadOnlySpan<uint> state, uint counter, ref byte source, ref byte destination)
    {
        Vector512<uint> x0 = Vector512.Create(state[0]), x1 = Vector512.Create(state[1]);
        Vector512<uint> x2 = Vector512.Create(state[2]), x3 = Vector512.Create(state[3]);
        Vector512<uint> x4 = Vector512.Create(state[4]), x5 = Vector512.Create(state[5]);
        Vector512<uint> x6 = Vector512.Create(state[6]), x7 = Vector512.Create(state[7]);
        Vector512<uint> x8 = Vector512.Create(state[8]), x9 = Vector512.Create(state[9]);
        Vector512<uint> x10 = Vector512.Create(state[10]), x11 = Vector512.Create(state[11]);
        Vector512<uint> x12 = Vector512.Create(counter) + Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Vector512<uint> x13 = Vector512.Create(state[13]), x14 = Vector512.Create(state[14]);
        Vector512<uint> x15 = Vector512.Create(state[15]);
        Vector512<uint> counters = x12;

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

        x0 += Vector512.Create(state[0]); x1 += Vector512.Create(state[1]);
        x2 += Vector512.Create(state[2]); x3 += Vector512.Create(state[3]);
        x4 += Vector512.Create(state[4]); x5 += Vector512.Create(state[5]);
        x6 += Vector512.Create(state[6]); x7 += Vector512.Create(state[7]);
        x8 += Vector512.Create(state[8]); x9 += Vector512.Create(state[9]);
        x10 += Vector512.Create(state[10]); x11 += Vector512.Create(state[11]);
        x12 += counters; x13 += Vector512.Create(state[13]);
        x14 += Vector512.Create(state[14]); x15 += Vector512.Create(state[15]);

        // After the in-lane transposes, x_j (j = 0..3) holds words 0..3 of blocks j, j+4, j+8, j+12 in its four lanes.
        Transpose(ref x0, ref x1, ref x2, ref x3);
        Transpose(ref x4, ref x5, ref x6, ref x7);
        Transpose(ref x8, ref x9, ref x10, ref x11);
        Transpose(ref x12, ref x13, ref x14, ref x15);

        Store(x0, x4, x8, x12, ref source, ref destination, 0);
        Store(x1, x5, x9, x13, ref source, ref destination, 64);
        Store(x2, x6, x10, x14, ref source, ref destination, 128);
        Store(x3, x7, x11, x15, ref source, ref destination, 192);
    }

    /// <summary>
    /// Regroups 128-bit lanes so each output vector is one whole block: lane k of the four inputs is block j + 4k,
    /// written at <paramref name="offset"/> + 256k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<uint> w0, Vector512<uint> w4, Vector512<uint> w8, Vector512<uint> w12, ref byte source, ref byte destination, nuint offset)
    {
        Vector512<uint> t0 = Avx512F.Shuffle4x128(w0, w4, 0x44);   // w0.l0 w0.l1 w4.l0 w4.l1
        Vector512<uint> t1 = Avx512F.Shuffle4x128(w0, w4, 0xEE);   // w0.l2 w0.l3 w4.l2 w4.l3
        Vector512<uint> t2 = Avx512F.Shuffle4x128(w8, w12, 0x44);
        Vector512<uint> t3 = Avx512F.Shuffle4x128(w8, w12, 0xEE);
        XorStore(Avx512F.Shuffle4x128(t0, t2, 0x88), ref source, ref destination, offset);        // lane 0 of each
        XorStore(Avx512F.Shuffle4x128(t0, t2, 0xDD), ref source, ref destination, offset + 256);  // lane 1
        XorStore(Avx512F.Shuffle4x128(t1, t3, 0x88), ref source, ref destination, offset + 512);  // lane 2
        XorStore(Avx512F.Shuffle4x128(t1, t3, 0xDD), ref source, ref destination, offset + 768);  // lane 3
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void XorStore(Vector512<uint> keystream, ref byte source, ref byte destination, nuint offset)
    {
        Vector512<byte> data = Vector512.LoadUnsafe(ref source, offset);
        (data ^ keystream.AsByte()).StoreUnsafe(ref destination, offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuarterRound(ref Vector512<uint> a, ref Vector512<uint> b, ref Vector512<uint> c, ref Vector512<uint> d)
    {
        a += b; d = Avx512F.RotateLeft(d ^ a, 16);
        c += d; b = Avx512F.RotateLeft(b ^ c, 12);
        a += b; d = Avx512F.RotateLeft(d ^ a, 8);
        c += d; b = Avx512F.RotateLeft(b ^ c, 7);
    }

    /// <summary>4x4 transpose of 32-bit lanes inside each 128-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector512<uint> a, ref Vector512<uint> b, ref Vector512<uint> c, ref Vector512<uint> d)
    {
        Vector512<ulong> t0 = Avx512F.UnpackLow(a, b).AsUInt64();
        Vector512<ulong> t1 = Avx512F.UnpackHigh(a, b).AsUInt64();
        Vector512<ulong> t2 = Avx512F.UnpackLow(c, d).AsUInt64();
        Vector512<ulong> t3 = Avx512F.UnpackHigh(c, d).AsUInt64();
        a = Avx512F.UnpackLow(t0, t2).AsUInt32();
        b = Avx512F.UnpackHigh(t0, t2).AsUInt32();
        c = Avx512F.UnpackLow(t1, t3).AsUInt32();
        d = Avx512F.UnpackHigh(t1, t3).AsUInt32();
    }
}
