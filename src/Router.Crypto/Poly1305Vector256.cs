using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Router.Crypto;

/// <summary>
/// Poly1305 over 4 blocks at once with AVX2, the method of Goll and Gueron ("Vectorization of Poly1305", 2015) that
/// libsodium and OpenSSL also use: radix 2^26 (five limbs in 64-bit lanes, multiplied with vpmuludq), four
/// independent accumulators that each step multiply by r^4 and add a block, and a final multiply of the lanes by
/// r^4, r^3, r^2, r^1 before they are summed. The four products per limb stay below 2^59, so nothing overflows.
/// Lane order follows the in-lane unpack of two 32-byte loads: blocks 0, 2, 1, 3 of each group.
/// </summary>
internal static class Poly1305Vector256
{
    internal const ulong Mask26 = (1UL << 26) - 1;

    /// <summary>
    /// Absorbs <paramref name="groups"/> x 64 bytes (full blocks, 2^128 bit set) into the radix-2^64 accumulator
    /// (h0, h1, h2) of <see cref="Poly1305"/> with the clamped key (r0, r1). Requires AVX2.
    /// </summary>
    public static void Blocks(ref ulong h0, ref ulong h1, ref ulong h2, ulong r0, ulong r1, ref byte data, int groups)
    {
        Limbs r = Limbs.From(r0, r1, 0);
        Limbs r2 = Limbs.Multiply(r, r);
        Limbs r3 = Limbs.Multiply(r2, r);
        Limbs r4 = Limbs.Multiply(r2, r2);
        Limbs h = Limbs.From(h0, h1, h2);

        Vector256<ulong> mask = Vector256.Create(Mask26);
        LoadBlocks(ref data, mask, out Vector256<ulong> a0, out Vector256<ulong> a1, out Vector256<ulong> a2, out Vector256<ulong> a3, out Vector256<ulong> a4);
        a0 += Vector256.Create(h.L0, 0, 0, 0);
        a1 += Vector256.Create(h.L1, 0, 0, 0);
        a2 += Vector256.Create(h.L2, 0, 0, 0);
        a3 += Vector256.Create(h.L3, 0, 0, 0);
        a4 += Vector256.Create(h.L4, 0, 0, 0);

        Vector256<ulong> p0 = Vector256.Create(r4.L0), p1 = Vector256.Create(r4.L1), p2 = Vector256.Create(r4.L2);
        Vector256<ulong> p3 = Vector256.Create(r4.L3), p4 = Vector256.Create(r4.L4);
        for (int g = 1; g < groups; g++)
        {
            MultiplyReduce(ref a0, ref a1, ref a2, ref a3, ref a4, p0, p1, p2, p3, p4, mask);
            LoadBlocks(ref Unsafe.Add(ref data, g * 64), mask, out Vector256<ulong> m0, out Vector256<ulong> m1, out Vector256<ulong> m2, out Vector256<ulong> m3, out Vector256<ulong> m4);
            a0 += m0;
            a1 += m1;
            a2 += m2;
            a3 += m3;
            a4 += m4;
        }

        // Lane k holds blocks 0, 2, 1, 3 (mod 4): weight them by r^4, r^2, r^3, r^1.
        MultiplyReduce(ref a0, ref a1, ref a2, ref a3, ref a4,
            Vector256.Create(r4.L0, r2.L0, r3.L0, r.L0), Vector256.Create(r4.L1, r2.L1, r3.L1, r.L1),
            Vector256.Create(r4.L2, r2.L2, r3.L2, r.L2), Vector256.Create(r4.L3, r2.L3, r3.L3, r.L3),
            Vector256.Create(r4.L4, r2.L4, r3.L4, r.L4), mask);

        var sum = new Limbs(Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3), Vector256.Sum(a4));
        sum.ToRadix64(out h0, out h1, out h2);
    }

    /// <summary>Splits blocks 0..3 at <paramref name="data"/> into limbs, lanes ordered 0, 2, 1, 3, with the 2^128 bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadBlocks(ref byte data, Vector256<ulong> mask, out Vector256<ulong> m0, out Vector256<ulong> m1, out Vector256<ulong> m2, out Vector256<ulong> m3, out Vector256<ulong> m4)
    {
        Vector256<ulong> first = Vector256.LoadUnsafe(ref data).AsUInt64();
        Vector256<ulong> second = Vector256.LoadUnsafe(ref Unsafe.Add(ref data, 32)).AsUInt64();
        Vector256<ulong> low = Avx2.UnpackLow(first, second);
        Vector256<ulong> high = Avx2.UnpackHigh(first, second);
        m0 = low & mask;
        m1 = (low >>> 26) & mask;
        m2 = ((low >>> 52) | (high << 12)) & mask;
        m3 = (high >>> 14) & mask;
        m4 = (high >>> 40) | Vector256.Create(1UL << 24);
    }

    /// <summary>a = a * p mod 2^130 - 5 per lane, with limbs left below 2^26 (h1 slightly above) for the next step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyReduce(
        ref Vector256<ulong> a0, ref Vector256<ulong> a1, ref Vector256<ulong> a2, ref Vector256<ulong> a3, ref Vector256<ulong> a4,
        Vector256<ulong> p0, Vector256<ulong> p1, Vector256<ulong> p2, Vector256<ulong> p3, Vector256<ulong> p4, Vector256<ulong> mask)
    {
        // 2^130 = 5 (mod p): limb products that land at 2^130 and above come back times 5.
        Vector256<ulong> s1 = p1 + (p1 << 2), s2 = p2 + (p2 << 2), s3 = p3 + (p3 << 2), s4 = p4 + (p4 << 2);

        Vector256<ulong> d0 = Mul(a0, p0) + Mul(a1, s4) + Mul(a2, s3) + Mul(a3, s2) + Mul(a4, s1);
        Vector256<ulong> d1 = Mul(a0, p1) + Mul(a1, p0) + Mul(a2, s4) + Mul(a3, s3) + Mul(a4, s2);
        Vector256<ulong> d2 = Mul(a0, p2) + Mul(a1, p1) + Mul(a2, p0) + Mul(a3, s4) + Mul(a4, s3);
        Vector256<ulong> d3 = Mul(a0, p3) + Mul(a1, p2) + Mul(a2, p1) + Mul(a3, p0) + Mul(a4, s4);
        Vector256<ulong> d4 = Mul(a0, p4) + Mul(a1, p3) + Mul(a2, p2) + Mul(a3, p1) + Mul(a4, p0);

        d1 += d0 >>> 26;
        a0 = d0 & mask;
        d2 += d1 >>> 26;
        a1 = d1 & mask;
        d3 += d2 >>> 26;
        a2 = d2 & mask;
        d4 += d3 >>> 26;
        a3 = d3 & mask;
        Vector256<ulong> carry = d4 >>> 26;
        a4 = d4 & mask;
        a0 += carry + (carry << 2);
        a1 += a0 >>> 26;
        a0 &= mask;
    }

    /// <summary>32 x 32 -> 64-bit multiply of the low halves of each lane (vpmuludq).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Mul(Vector256<ulong> a, Vector256<ulong> b) => Avx2.Multiply(a.AsUInt32(), b.AsUInt32());

    /// <summary>A value mod 2^130 - 5 as five 26-bit limbs (each may carry a few extra bits).</summary>
    internal readonly record struct Limbs(ulong L0, ulong L1, ulong L2, ulong L3, ulong L4)
    {
        public static Limbs From(ulong low, ulong high, ulong top) => new(
            low & Mask26,
            (low >> 26) & Mask26,
            ((low >> 52) | (high << 12)) & Mask26,
            (high >> 14) & Mask26,
            (high >> 40) | (top << 24));

        public static Limbs Multiply(Limbs a, Limbs b)
        {
            ulong s1 = b.L1 * 5, s2 = b.L2 * 5, s3 = b.L3 * 5, s4 = b.L4 * 5;
            ulong d0 = (a.L0 * b.L0) + (a.L1 * s4) + (a.L2 * s3) + (a.L3 * s2) + (a.L4 * s1);
            ulong d1 = (a.L0 * b.L1) + (a.L1 * b.L0) + (a.L2 * s4) + (a.L3 * s3) + (a.L4 * s2);
            ulong d2 = (a.L0 * b.L2) + (a.L1 * b.L1) + (a.L2 * b.L0) + (a.L3 * s4) + (a.L4 * s3);
            ulong d3 = (a.L0 * b.L3) + (a.L1 * b.L2) + (a.L2 * b.L1) + (a.L3 * b.L0) + (a.L4 * s4);
            ulong d4 = (a.L0 * b.L4) + (a.L1 * b.L3) + (a.L2 * b.L2) + (a.L3 * b.L1) + (a.L4 * b.L0);
            return new Limbs(d0, d1, d2, d3, d4).Carry();
        }

        /// <summary>Propagates carries so every limb is below 2^26 except L1, which may exceed it by a small carry.</summary>
        public Limbs Carry()
        {
            ulong d0 = L0, d1 = L1, d2 = L2, d3 = L3, d4 = L4;
            d1 += d0 >> 26;
            d0 &= Mask26;
            d2 += d1 >> 26;
            d1 &= Mask26;
            d3 += d2 >> 26;
            d2 &= Mask26;
            d4 += d3 >> 26;
            d3 &= Mask26;
            ulong c = d4 >> 26;
            d4 &= Mask26;
            d0 += c * 5;
            d1 += d0 >> 26;
            d0 &= Mask26;
            return new Limbs(d0, d1, d2, d3, d4);
        }

        /// <summary>Back to radix 2^64: h = L0 + L1 2^26 + L2 2^52 + L3 2^78 + L4 2^104, with bits from 2^128 up in h2.</summary>
        public void ToRadix64(out ulong h0, out ulong h1, out ulong h2)
        {
            // Plain 64-bit adds with branch-free carries: the accumulator is secret.
            Limbs c = Carry();
            ulong t0 = c.L0 + (c.L1 << 26);
            ulong high2 = c.L2 << 52;
            h0 = t0 + high2;
            ulong carry = Poly1305.Carry(t0, high2, h0);
            ulong t1 = (c.L2 >> 12) + (c.L3 << 14) + carry;
            ulong high4 = c.L4 << 40;
            h1 = t1 + high4;
            h2 = (c.L4 >> 24) + Poly1305.Carry(t1, high4, h1);
        }
    }
}
