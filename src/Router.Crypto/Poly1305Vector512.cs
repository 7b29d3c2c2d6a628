using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Router.Crypto;

/// <summary>
/// Poly1305 over 8 blocks at once with AVX-512F: the method of <see cref="Poly1305Vector256"/> on eight lanes, so each
/// step multiplies by r^8 and the lanes end weighted r^8..r^1. Twice the blocks per dependency chain, which is what
/// limits the 4-way code. Lane order follows the in-lane unpack of two 64-byte loads: blocks 0, 4, 1, 5, 2, 6, 3, 7.
/// </summary>
internal static class Poly1305Vector512
{
    private const ulong Mask26 = Poly1305Vector256.Mask26;

    /// <summary>
    /// Absorbs <paramref name="groups"/> x 128 bytes (full blocks, 2^128 bit set) into the radix-2^64 accumulator
    /// (h0, h1, h2) of <see cref="Poly1305"/> with the clamped key (r0, r1). Requires AVX-512F.
    /// </summary>
    public static void Blocks(ref ulong h0, ref ulong h1, ref ulong h2, ulong r0, ulong r1, ref byte data, int groups)
    {
        Poly1305Vector256.Limbs r = Poly1305Vector256.Limbs.From(r0, r1, 0);
        Poly1305Vector256.Limbs r2 = Poly1305Vector256.Limbs.Multiply(r, r);
        Poly1305Vector256.Limbs r3 = Poly1305Vector256.Limbs.Multiply(r2, r);
        Poly1305Vector256.Limbs r4 = Poly1305Vector256.Limbs.Multiply(r2, r2);
        Poly1305Vector256.Limbs r5 = Poly1305Vector256.Limbs.Multiply(r4, r);
        Poly1305Vector256.Limbs r6 = Poly1305Vector256.Limbs.Multiply(r4, r2);
        Poly1305Vector256.Limbs r7 = Poly1305Vector256.Limbs.Multiply(r4, r3);
        Poly1305Vector256.Limbs r8 = Poly1305Vector256.Limbs.Multiply(r4, r4);
        Poly1305Vector256.Limbs h = Poly1305Vector256.Limbs.From(h0, h1, h2);

        Vector512<ulong> mask = Vector512.Create(Mask26);
        LoadBlocks(ref data, mask, out Vector512<ulong> a0, out Vector512<ulong> a1, out Vector512<ulong> a2, out Vector512<ulong> a3, out Vector512<ulong> a4);
        a0 += Vector512.Create(h.L0, 0, 0, 0, 0, 0, 0, 0);
        a1 += Vector512.Create(h.L1, 0, 0, 0, 0, 0, 0, 0);
        a2 += Vector512.Create(h.L2, 0, 0, 0, 0, 0, 0, 0);
        a3 += Vector512.Create(h.L3, 0, 0, 0, 0, 0, 0, 0);
        a4 += Vector512.Create(h.L4, 0, 0, 0, 0, 0, 0, 0);

        Vector512<ulong> p0 = Vector512.Create(r8.L0), p1 = Vector512.Create(r8.L1), p2 = Vector512.Create(r8.L2);
        Vector512<ulong> p3 = Vector512.Create(r8.L3), p4 = Vector512.Create(r8.L4);
        for (int g = 1; g < groups; g++)
        {
            MultiplyReduce(ref a0, ref a1, ref a2, ref a3, ref a4, p0, p1, p2, p3, p4, mask);
            LoadBlocks(ref Unsafe.Add(ref data, g * 128), mask, out Vector512<ulong> m0, out Vector512<ulong> m1, out Vector512<ulong> m2, out Vector512<ulong> m3, out Vector512<ulong> m4);
            a0 += m0;
            a1 += m1;
            a2 += m2;
            a3 += m3;
            a4 += m4;
        }

        // Lanes hold blocks 0, 4, 1, 5, 2, 6, 3, 7 (mod 8): weight them by r^8, r^4, r^7, r^3, r^6, r^2, r^5, r^1.
        MultiplyReduce(ref a0, ref a1, ref a2, ref a3, ref a4,
            Vector512.Create(r8.L0, r4.L0, r7.L0, r3.L0, r6.L0, r2.L0, r5.L0, r.L0),
            Vector512.Create(r8.L1, r4.L1, r7.L1, r3.L1, r6.L1, r2.L1, r5.L1, r.L1),
            Vector512.Create(r8.L2, r4.L2, r7.L2, r3.L2, r6.L2, r2.L2, r5.L2, r.L2),
            Vector512.Create(r8.L3, r4.L3, r7.L3, r3.L3, r6.L3, r2.L3, r5.L3, r.L3),
            Vector512.Create(r8.L4, r4.L4, r7.L4, r3.L4, r6.L4, r2.L4, r5.L4, r.L4), mask);

        var sum = new Poly1305Vector256.Limbs(Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3), Vector512.Sum(a4));
        sum.ToRadix64(out h0, out h1, out h2);
    }

    /// <summary>Splits blocks 0..7 at <paramref name="data"/> into limbs, lanes ordered 0, 4, 1, 5, 2, 6, 3, 7, with the 2^128 bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadBlocks(ref byte data, Vector512<ulong> mask, out Vector512<ulong> m0, out Vector512<ulong> m1, out Vector512<ulong> m2, out Vector512<ulong> m3, out Vector512<ulong> m4)
    {
        Vector512<ulong> first = Vector512.LoadUnsafe(ref data).AsUInt64();
        Vector512<ulong> second = Vector512.LoadUnsafe(ref Unsafe.Add(ref data, 64)).AsUInt64();
        Vector512<ulong> low = Avx512F.UnpackLow(first, second);
        Vector512<ulong> high = Avx512F.UnpackHigh(first, second);
        m0 = low & mask;
        m1 = (low >>> 26) & mask;
        m2 = ((low >>> 52) | (high << 12)) & mask;
        m3 = (high >>> 14) & mask;
        m4 = (high >>> 40) | Vector512.Create(1UL << 24);
    }

    /// <summary>a = a * p mod 2^130 - 5 per lane, with limbs left below 2^26 (h1 slightly above) for the next step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyReduce(
        ref Vector512<ulong> a0, ref Vector512<ulong> a1, ref Vector512<ulong> a2, ref Vector512<ulong> a3, ref Vector512<ulong> a4,
        Vector512<ulong> p0, Vector512<ulong> p1, Vector512<ulong> p2, Vector512<ulong> p3, Vector512<ulong> p4, Vector512<ulong> mask)
    {
        // 2^130 = 5 (mod p): limb products that land at 2^130 and above come back times 5.
        Vector512<ulong> s1 = p1 + (p1 << 2), s2 = p2 + (p2 << 2), s3 = p3 + (p3 << 2), s4 = p4 + (p4 << 2);

        Vector512<ulong> d0 = Mul(a0, p0) + Mul(a1, s4) + Mul(a2, s3) + Mul(a3, s2) + Mul(a4, s1);
        Vector512<ulong> d1 = Mul(a0, p1) + Mul(a1, p0) + Mul(a2, s4) + Mul(a3, s3) + Mul(a4, s2);
        Vector512<ulong> d2 = Mul(a0, p2) + Mul(a1, p1) + Mul(a2, p0) + Mul(a3, s4) + Mul(a4, s3);
        Vector512<ulong> d3 = Mul(a0, p3) + Mul(a1, p2) + Mul(a2, p1) + Mul(a3, p0) + Mul(a4, s4);
        Vector512<ulong> d4 = Mul(a0, p4) + Mul(a1, p3) + Mul(a2, p2) + Mul(a3, p1) + Mul(a4, p0);

        d1 += d0 >>> 26;
        a0 = d0 & mask;
        d2 += d1 >>> 26;
        a1 = d1 & mask;
        d3 += d2 >>> 26;
        a2 = d2 & mask;
        d4 += d3 >>> 26;
        a3 = d3 & mask;
        Vector512<ulong> carry = d4 >>> 26;
        a4 = d4 & mask;
        a0 += carry + (carry << 2);
        a1 += a0 >>> 26;
        a0 &= mask;
    }

    /// <summary>32 x 32 -> 64-bit multiply of the low halves of each lane (vpmuludq).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Mul(Vector512<ulong> a, Vector512<ulong> b) => Avx512F.Multiply(a.AsUInt32(), b.AsUInt32());
}
