using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Limbs = Router.Crypto.Poly1305Vector256.Limbs;

namespace Router.Crypto;

/// <summary>
/// Poly1305 over 4 blocks per pass in 128-bit vectors, for NEON (the ARM64 path) and SSE2: radix 2^26 in two 64-bit
/// lanes, the scheme of OpenSSL's poly1305-armv8 NEON code. Lane 0 takes blocks 0 and 2 of each group, lane 1 blocks 1
/// and 3, and a pass computes h = (h + m[0,1]) r^4 + m[2,3] r^2: 50 32x32->64 multiply-adds (UMLAL on NEON) but one
/// carry chain per 4 blocks, and the two products are independent. The last pass multiplies by (r^4, r^3) and
/// (r^2, r^1) instead, which leaves every block weighted by the right power when the lanes are summed. Products stay
/// below 2^60 (h limbs below 2^27, r limbs times 5 below 2^29, ten terms), so nothing overflows.
/// The only ISA-specific steps are the lane interleave and the multiply (<see cref="Operand"/>, <see cref="MulAdd"/>),
/// so the x64 tests run the same code on SSE2 that arm64 runs on NEON.
/// </summary>
internal static class Poly1305Vector128
{
    private const ulong Mask26 = Poly1305Vector256.Mask26;

    /// <summary>NEON on ARM64 (its base ISA), SSE2 on x86-64; false under DOTNET_EnableHWIntrinsic=0.</summary>
    public static bool IsSupported => AdvSimd.Arm64.IsSupported || Sse2.IsSupported;

    /// <summary>
    /// Absorbs <paramref name="groups"/> (at least 1) x 64 bytes (full blocks, 2^128 bit set) into the radix-2^64
    /// accumulator (h0, h1, h2) of <see cref="Poly1305"/> with the clamped key (r0, r1).
    /// </summary>
    public static void Blocks(ref ulong h0, ref ulong h1, ref ulong h2, ulong r0, ulong r1, ref byte data, int groups)
    {
        Limbs r = Limbs.From(r0, r1, 0);
        Limbs r2 = Limbs.Multiply(r, r);
        Limbs r3 = Limbs.Multiply(r2, r);
        Limbs r4 = Limbs.Multiply(r2, r2);
        Limbs h = Limbs.From(h0, h1, h2);
        Powers even4 = new(r4, r4), even2 = new(r2, r2);

        Vector128<ulong> mask = Vector128.Create(Mask26);
        LoadBlocks(ref data, mask, out Vector128<ulong> a0, out Vector128<ulong> a1, out Vector128<ulong> a2, out Vector128<ulong> a3, out Vector128<ulong> a4);
        a0 += Vector128.Create(h.L0, 0);
        a1 += Vector128.Create(h.L1, 0);
        a2 += Vector128.Create(h.L2, 0);
        a3 += Vector128.Create(h.L3, 0);
        a4 += Vector128.Create(h.L4, 0);

        for (int g = 1; g < groups; g++)
        {
            ref byte group = ref Unsafe.Add(ref data, (g - 1) * 64);
            LoadBlocks(ref Unsafe.Add(ref group, 32), mask, out Vector128<ulong> n0, out Vector128<ulong> n1, out Vector128<ulong> n2, out Vector128<ulong> n3, out Vector128<ulong> n4);
            MultiplyReduce(ref a0, ref a1, ref a2, ref a3, ref a4, n0, n1, n2, n3, n4, even4, even2, mask);
            LoadBlocks(ref Unsafe.Add(ref group, 64), mask, out Vector128<ulong> m0, out Vector128<ulong> m1, out Vector128<ulong> m2, out Vector128<ulong> m3, out Vector128<ulong> m4);
            a0 += m0;
            a1 += m1;
            a2 += m2;
            a3 += m3;
            a4 += m4;
        }

        // Last pass: lane 0 holds block 0 (mod 4) and takes block 2, lane 1 block 1 and block 3; weights r^4..r^1.
        LoadBlocks(ref Unsafe.Add(ref data, ((groups - 1) * 64) + 32), mask, out Vector128<ulong> l0, out Vector128<ulong> l1, out Vector128<ulong> l2, out Vector128<ulong> l3, out Vector128<ulong> l4);
        MultiplyReduce(ref a0, ref a1, ref a2, ref a3, ref a4, l0, l1, l2, l3, l4, new Powers(r4, r3), new Powers(r2, r), mask);

        var sum = new Limbs(Vector128.Sum(a0), Vector128.Sum(a1), Vector128.Sum(a2), Vector128.Sum(a3), Vector128.Sum(a4));
        sum.ToRadix64(out h0, out h1, out h2);
    }

    /// <summary>Splits the two blocks at <paramref name="data"/> into limbs, block 0 in lane 0, with the 2^128 bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadBlocks(ref byte data, Vector128<ulong> mask, out Vector128<ulong> m0, out Vector128<ulong> m1, out Vector128<ulong> m2, out Vector128<ulong> m3, out Vector128<ulong> m4)
    {
        Vector128<ulong> first = Vector128.LoadUnsafe(ref data).AsUInt64();
        Vector128<ulong> second = Vector128.LoadUnsafe(ref Unsafe.Add(ref data, 16)).AsUInt64();
        Vector128<ulong> low = AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipLow(first, second) : Sse2.UnpackLow(first, second);
        Vector128<ulong> high = AdvSimd.Arm64.IsSupported ? AdvSimd.Arm64.ZipHigh(first, second) : Sse2.UnpackHigh(first, second);
        m0 = low & mask;
        m1 = (low >>> 26) & mask;
        m2 = ((low >>> 52) | (high << 12)) & mask;
        m3 = (high >>> 14) & mask;
        m4 = (high >>> 40) | Vector128.Create(1UL << 24);
    }

    /// <summary>
    /// a = a * <paramref name="high"/> + n * <paramref name="low"/> mod 2^130 - 5 per lane, with limbs left below 2^26
    /// (a1 slightly above) for the next pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyReduce(
        ref Vector128<ulong> a0, ref Vector128<ulong> a1, ref Vector128<ulong> a2, ref Vector128<ulong> a3, ref Vector128<ulong> a4,
        Vector128<ulong> n0, Vector128<ulong> n1, Vector128<ulong> n2, Vector128<ulong> n3, Vector128<ulong> n4,
        in Powers high, in Powers low, Vector128<ulong> mask)
    {
        Vector128<ulong> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default;
        Accumulate(ref d0, ref d1, ref d2, ref d3, ref d4, Operand(n0), Operand(n1), Operand(n2), Operand(n3), Operand(n4), low, start: true);
        Accumulate(ref d0, ref d1, ref d2, ref d3, ref d4, Operand(a0), Operand(a1), Operand(a2), Operand(a3), Operand(a4), high, start: false);

        d1 += d0 >>> 26;
        a0 = d0 & mask;
        d2 += d1 >>> 26;
        a1 = d1 & mask;
        d3 += d2 >>> 26;
        a2 = d2 & mask;
        d4 += d3 >>> 26;
        a3 = d3 & mask;
        Vector128<ulong> carry = d4 >>> 26;
        a4 = d4 & mask;
        a0 += carry + (carry << 2);
        a1 += a0 >>> 26;
        a0 &= mask;
    }

    /// <summary>
    /// d += x * p, schoolbook over five limbs; limb products at 2^130 and above come back times 5 (s = 5 p). With
    /// <paramref name="start"/> d begins at the first product instead (UMULL rather than zeroing and UMLAL).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(
        ref Vector128<ulong> d0, ref Vector128<ulong> d1, ref Vector128<ulong> d2, ref Vector128<ulong> d3, ref Vector128<ulong> d4,
        Vector128<uint> x0, Vector128<uint> x1, Vector128<uint> x2, Vector128<uint> x3, Vector128<uint> x4, in Powers p, bool start)
    {
        d0 = MulAdd(MulAdd(MulAdd(MulAdd(First(d0, x0, p.P0, start), x1, p.S4), x2, p.S3), x3, p.S2), x4, p.S1);
        d1 = MulAdd(MulAdd(MulAdd(MulAdd(First(d1, x0, p.P1, start), x1, p.P0), x2, p.S4), x3, p.S3), x4, p.S2);
        d2 = MulAdd(MulAdd(MulAdd(MulAdd(First(d2, x0, p.P2, start), x1, p.P1), x2, p.P0), x3, p.S4), x4, p.S3);
        d3 = MulAdd(MulAdd(MulAdd(MulAdd(First(d3, x0, p.P3, start), x1, p.P2), x2, p.P1), x3, p.P0), x4, p.S4);
        d4 = MulAdd(MulAdd(MulAdd(MulAdd(First(d4, x0, p.P4, start), x1, p.P3), x2, p.P2), x3, p.P1), x4, p.P0);
    }

    /// <summary>The first product of a row: <paramref name="acc"/> + x * y, or x * y alone when starting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> First(Vector128<ulong> acc, Vector128<uint> x, Vector128<uint> y, bool start) =>
        start ? Mul(x, y) : MulAdd(acc, x, y);

    /// <summary>
    /// A limb vector (two 64-bit lanes, values below 2^32) as a multiply operand: NEON's UMULL reads 32-bit lanes 0 and 1,
    /// so the lanes are narrowed (XTN); SSE2's PMULUDQ reads lanes 0 and 2, the low halves already in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Operand(Vector128<ulong> limbs) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.ExtractNarrowingLower(limbs).ToVector128Unsafe() : limbs.AsUInt32();

    /// <summary>x * y on the 32-bit operands of each 64-bit lane (UMULL on NEON, PMULUDQ on SSE2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Mul(Vector128<uint> x, Vector128<uint> y) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.MultiplyWideningLower(x.GetLower(), y.GetLower()) : Sse2.Multiply(x, y);

    /// <summary>acc + x * y on the 32-bit operands of each 64-bit lane (UMLAL on NEON, PMULUDQ + PADDQ on SSE2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> MulAdd(Vector128<ulong> acc, Vector128<uint> x, Vector128<uint> y) =>
        AdvSimd.Arm64.IsSupported ? AdvSimd.MultiplyWideningLowerAndAdd(acc, x.GetLower(), y.GetLower()) : acc + Sse2.Multiply(x, y);

    /// <summary>A power of r per lane as multiply operands (limbs and 5 x limbs), laid out for both ISAs.</summary>
    private readonly struct Powers
    {
        public readonly Vector128<uint> P0, P1, P2, P3, P4, S1, S2, S3, S4;

        public Powers(Limbs lane0, Limbs lane1)
        {
            P0 = Pair(lane0.L0, lane1.L0);
            P1 = Pair(lane0.L1, lane1.L1);
            P2 = Pair(lane0.L2, lane1.L2);
            P3 = Pair(lane0.L3, lane1.L3);
            P4 = Pair(lane0.L4, lane1.L4);
            S1 = Pair(lane0.L1 * 5, lane1.L1 * 5);
            S2 = Pair(lane0.L2 * 5, lane1.L2 * 5);
            S3 = Pair(lane0.L3 * 5, lane1.L3 * 5);
            S4 = Pair(lane0.L4 * 5, lane1.L4 * 5);
        }

        /// <summary>Lane 0's value in 32-bit lane 0, lane 1's in lanes 1 (what UMULL reads) and 2 (what PMULUDQ reads).</summary>
        private static Vector128<uint> Pair(ulong lane0, ulong lane1) => Vector128.Create((uint)lane0, (uint)lane1, (uint)lane1, 0);
    }
}
