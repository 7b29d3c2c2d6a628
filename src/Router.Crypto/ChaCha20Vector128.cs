using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Router.Crypto;

/// <summary>
/// ChaCha20 on 4 blocks at once with only the cross-platform Vector128 operators, so the same code lowers to
/// NEON (AdvSimd) on ARM64 and to SSE on x86-64. Vertical layout: vector i holds word i of the 4 blocks
/// (counters c..c+3), so the rounds need no lane shuffles; a 4x4 transpose per row group at the end puts
/// each block's bytes back in order.
/// </summary>
internal static class ChaCha20Vector128
{
    /// <summary>XORs 256 bytes of keystream (blocks counter..counter+3) from <paramref name="source"/> into <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Xor4Blocks(ReadOnlySpan<uint> state, uint counter, ref byte source, ref byte destination)
    {
        Vector128<uint> x0 = Vector128.Create(state[0]), x1 = Vector128.Create(state[1]);
        Vector128<uint> x2 = Vector128.Create(state[2]), x3 = Vector128.Create(state[3]);
        Vector128<uint> x4 = Vector128.Create(state[4]), x5 = Vector128.Create(state[5]);
        Vector128<uint> x6 = Vector128.Create(state[6]), x7 = Vector128.Create(state[7]);
        Vector128<uint> x8 = Vector128.Create(state[8]), x9 = Vector128.Create(state[9]);
        Vector128<uint> x10 = Vector128.Create(state[10]), x11 = Vector128.Create(state[11]);
        Vector128<uint> x12 = Vector128.Create(counter) + Vector128.Create(0u, 1u, 2u, 3u);
        Vector128<uint> x13 = Vector128.Create(state[13]), x14 = Vector128.Create(state[14]);
        Vector128<uint> x15 = Vector128.Create(state[15]);
        Vector128<uint> counters = x12;

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

        x0 += Vector128.Create(state[0]); x1 += Vector128.Create(state[1]);
        x2 += Vector128.Create(state[2]); x3 += Vector128.Create(state[3]);
        x4 += Vector128.Create(state[4]); x5 += Vector128.Create(state[5]);
        x6 += Vector128.Create(state[6]); x7 += Vector128.Create(state[7]);
        x8 += Vector128.Create(state[8]); x9 += Vector128.Create(state[9]);
        x10 += Vector128.Create(state[10]); x11 += Vector128.Create(state[11]);
        x12 += counters; x13 += Vector128.Create(state[13]);
        x14 += Vector128.Create(state[14]); x15 += Vector128.Create(state[15]);

        // Row group r (words 4r..4r+3) of block b goes to byte offset 64b + 16r.
        Transpose(ref x0, ref x1, ref x2, ref x3);
        Transpose(ref x4, ref x5, ref x6, ref x7);
        Transpose(ref x8, ref x9, ref x10, ref x11);
        Transpose(ref x12, ref x13, ref x14, ref x15);

        XorStore(x0, ref source, ref destination, 0);
        XorStore(x4, ref source, ref destination, 16);
        XorStore(x8, ref source, ref destination, 32);
        XorStore(x12, ref source, ref destination, 48);
        XorStore(x1, ref source, ref destination, 64);
        XorStore(x5, ref source, ref destination, 80);
        XorStore(x9, ref source, ref destination, 96);
        XorStore(x13, ref source, ref destination, 112);
        XorStore(x2, ref source, ref destination, 128);
        XorStore(x6, ref source, ref destination, 144);
        XorStore(x10, ref source, ref destination, 160);
        XorStore(x14, ref source, ref destination, 176);
        XorStore(x3, ref source, ref destination, 192);
        XorStore(x7, ref source, ref destination, 208);
        XorStore(x11, ref source, ref destination, 224);
        XorStore(x15, ref source, ref destination, 240);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void XorStore(Vector128<uint> keystream, ref byte source, ref byte destination, nuint offset)
    {
        Vector128<byte> data = Vector128.LoadUnsafe(ref source, offset);
        (data ^ keystream.AsByte()).StoreUnsafe(ref destination, offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuarterRound(ref Vector128<uint> a, ref Vector128<uint> b, ref Vector128<uint> c, ref Vector128<uint> d)
    {
        a += b; d ^= a; d = RotateLeft16(d);
        c += d; b ^= c; b = (b << 12) | (b >>> 20);
        a += b; d ^= a; d = RotateLeft8(d);
        c += d; b ^= c; b = (b << 7) | (b >>> 25);
    }

    // Rotations by whole bytes are byte shuffles (pshufb / tbl), cheaper than two shifts and an OR.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> RotateLeft16(Vector128<uint> v) =>
        Vector128.Shuffle(v.AsByte(), Vector128.Create((byte)2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)).AsUInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> RotateLeft8(Vector128<uint> v) =>
        Vector128.Shuffle(v.AsByte(), Vector128.Create((byte)3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14)).AsUInt32();

    /// <summary>
    /// 4x4 transpose of 32-bit lanes from single-vector shuffles and constant-mask selects, the two shapes every
    /// ISA lowers well (there is no cross-platform two-vector unpack).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector128<uint> a, ref Vector128<uint> b, ref Vector128<uint> c, ref Vector128<uint> d)
    {
        Vector128<uint> even = Vector128.Create(uint.MaxValue, 0, uint.MaxValue, 0);
        Vector128<uint> low = Vector128.Create(uint.MaxValue, uint.MaxValue, 0, 0);

        // Swap odd lanes of a with even lanes of b: p0 = a0 b0 a2 b2, p1 = a1 b1 a3 b3.
        Vector128<uint> p0 = Vector128.ConditionalSelect(even, a, Vector128.Shuffle(b, Vector128.Create(1u, 0, 3, 2)));
        Vector128<uint> p1 = Vector128.ConditionalSelect(even, Vector128.Shuffle(a, Vector128.Create(1u, 0, 3, 2)), b);
        Vector128<uint> q0 = Vector128.ConditionalSelect(even, c, Vector128.Shuffle(d, Vector128.Create(1u, 0, 3, 2)));
        Vector128<uint> q1 = Vector128.ConditionalSelect(even, Vector128.Shuffle(c, Vector128.Create(1u, 0, 3, 2)), d);

        // Swap 64-bit halves: a0 b0 c0 d0, a1 b1 c1 d1, a2 b2 c2 d2, a3 b3 c3 d3.
        a = Vector128.ConditionalSelect(low, p0, Vector128.Shuffle(q0, Vector128.Create(2u, 3, 0, 1)));
        b = Vector128.ConditionalSelect(low, p1, Vector128.Shuffle(q1, Vector128.Create(2u, 3, 0, 1)));
        c = Vector128.ConditionalSelect(low, Vector128.Shuffle(p0, Vector128.Create(2u, 3, 0, 1)), q0);
        d = Vector128.ConditionalSelect(low, Vector128.Shuffle(p1, Vector128.Create(2u, 3, 0, 1)), q1);
    }
}
