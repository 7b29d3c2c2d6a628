using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Router.Crypto;

/// <summary>
/// Poly1305 one-time authenticator (RFC 8439 section 2.5) in radix 2^64: the accumulator h is two 64-bit limbs
/// plus a few bits (h2), r is two clamped limbs, and each block costs four 64x64->128 multiplications
/// (Math.BigMul: mul/mulx on x86-64, mul+umulh on ARM64). The reduction uses 2^130 = 5 (mod p), and r's clamping
/// lets r1 * 2^128 fold in as s1 = r1 + r1/4 = 5 * r1 / 4. Every step is branch-free on secret data.
/// </summary>
internal struct Poly1305
{
    public const int KeySize = 32;
    public const int TagSize = 16;
    public const int BlockSize = 16;

    private ulong _r0, _r1, _s1;
    private ulong _h0, _h1, _h2;
    /// <summary>
    /// Below this many blocks the scalar loop wins: the vector path first spends three multiplications on r^2..r^4.
    /// </summary>
    public const int DefaultVectorThreshold = 8;

    private ulong _pad0, _pad1;
    private int _vectorThreshold;
    private ChaCha20Implementation _widest;

    /// <summary>Starts a MAC with the 32-byte one-time key r || s.</summary>
    public Poly1305(ReadOnlySpan<byte> key)
        : this(key, DefaultVectorThreshold, ChaCha20.Selected)
    {
    }

    /// <summary>
    /// Starts a MAC that switches to the 4-way vector code (AVX2, else NEON or SSE2) for runs of at least
    /// <paramref name="vectorThreshold"/> blocks and to the 8-way AVX-512 code from twice that (int.MaxValue: scalar
    /// only), using no path wider than <paramref name="widest"/>. The AEAD passes its ChaCha20 path here, so forcing a
    /// path (tests, benchmarks) forces the matching Poly1305 width; the default is the process's selected path.
    /// </summary>
    internal Poly1305(ReadOnlySpan<byte> key, int vectorThreshold, ChaCha20Implementation widest)
    {
        _vectorThreshold = Math.Max(vectorThreshold, 4);
        _widest = widest;
        _r0 = BinaryPrimitives.ReadUInt64LittleEndian(key) & 0x0FFFFFFC0FFFFFFFUL;
        _r1 = BinaryPrimitives.ReadUInt64LittleEndian(key[8..]) & 0x0FFFFFFC0FFFFFFCUL;
        _s1 = _r1 + (_r1 >> 2);
        _pad0 = BinaryPrimitives.ReadUInt64LittleEndian(key[16..]);
        _pad1 = BinaryPrimitives.ReadUInt64LittleEndian(key[24..]);
    }

    /// <summary>The code long runs of blocks take when the widest allowed path is <paramref name="widest"/>.</summary>
    internal static string NameOf(ChaCha20Implementation widest) =>
        widest >= ChaCha20Implementation.Vector512 && Avx512F.IsSupported ? "AVX-512 8-way 2^26"
        : widest >= ChaCha20Implementation.Vector256 && Avx2.IsSupported ? "AVX2 4-way 2^26"
        : widest >= ChaCha20Implementation.Vector128 && AdvSimd.Arm64.IsSupported ? "NEON 4-way 2^26"
        : widest >= ChaCha20Implementation.Vector128 && Poly1305Vector128.IsSupported ? "SSE2 4-way 2^26"
        : "scalar 64-bit";

    /// <summary>
    /// Absorbs <paramref name="data"/> as full 16-byte blocks, zero-padding a final partial block to 16 bytes.
    /// This is exactly the AEAD construction's padding (RFC 8439 section 2.8), which is the only way it is used:
    /// each call's data starts on a block boundary.
    /// </summary>
    public void UpdatePadded(ReadOnlySpan<byte> data)
    {
        int full = data.Length & ~(BlockSize - 1);
        if (full > 0)
        {
            Blocks(ref MemoryMarshal.GetReference(data), full / BlockSize, 1);
        }

        if (full < data.Length)
        {
            Span<byte> last = stackalloc byte[BlockSize];
            last.Clear();
            data[full..].CopyTo(last);
            Blocks(ref MemoryMarshal.GetReference(last), 1, 1);
            last.Clear();
        }
    }

    /// <summary>
    /// The plain MAC of RFC 8439 section 2.5 over a whole message: a final partial block gets a 0x01 byte
    /// after its data instead of the 2^128 bit. Used by the known-answer tests of the bare primitive.
    /// </summary>
    public static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message, Span<byte> tag) =>
        Compute(key, message, tag, DefaultVectorThreshold, ChaCha20.Selected);

    /// <summary><see cref="Compute(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> with a chosen vector threshold.</summary>
    internal static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message, Span<byte> tag, int vectorThreshold, ChaCha20Implementation widest)
    {
        var mac = new Poly1305(key, vectorThreshold, widest);
        int full = message.Length & ~(BlockSize - 1);
        if (full > 0)
        {
            mac.Blocks(ref MemoryMarshal.GetReference(message), full / BlockSize, 1);
        }

        if (full < message.Length)
        {
            Span<byte> last = stackalloc byte[BlockSize];
            last.Clear();
            message[full..].CopyTo(last);
            last[message.Length - full] = 1;
            mac.Blocks(ref MemoryMarshal.GetReference(last), 1, 0);
        }

        mac.Finish(tag);
    }

    /// <summary>Absorbs one block made of two little-endian words (the AEAD's length block).</summary>
    public void UpdateWords(ulong low, ulong high)
    {
        Span<byte> block = stackalloc byte[BlockSize];
        BinaryPrimitives.WriteUInt64LittleEndian(block, low);
        BinaryPrimitives.WriteUInt64LittleEndian(block[8..], high);
        Blocks(ref MemoryMarshal.GetReference(block), 1, 1);
    }

    /// <summary>Writes the 16-byte tag and wipes the state.</summary>
    public void Finish(Span<byte> tag)
    {
        ulong h0 = _h0, h1 = _h1, h2 = _h2;

        // Compute g = h + 5 - 2^130; if it does not go negative (bit 130 set in h + 5), h >= p and g is the reduced value.
        ulong g0 = h0 + 5;
        ulong c = Carry(h0, 5, g0);
        ulong g1 = h1 + c;
        c = Carry(h1, c, g1);
        ulong g2 = h2 + c;
        ulong mask = 0UL - (g2 >> 2);
        h0 = (h0 & ~mask) | (g0 & mask);
        h1 = (h1 & ~mask) | (g1 & mask);

        // tag = (h + s) mod 2^128
        ulong t0 = h0 + _pad0;
        c = Carry(h0, _pad0, t0);
        ulong t1 = h1 + _pad1 + c;
        BinaryPrimitives.WriteUInt64LittleEndian(tag, t0);
        BinaryPrimitives.WriteUInt64LittleEndian(tag[8..], t1);
        this = default;
    }

    private void Blocks(ref byte data, int count, ulong padBit)
    {
        ulong r0 = _r0, r1 = _r1, s1 = _s1;
        ulong h0 = _h0, h1 = _h1, h2 = _h2;
        int i = 0;

        // count / 2, not 2 * threshold: the latter wraps negative for int.MaxValue ("scalar only").
        if (padBit == 1 && count >= _vectorThreshold)
        {
            if (_widest >= ChaCha20Implementation.Vector512 && Avx512F.IsSupported && count / 2 >= _vectorThreshold)
            {
                int groups = count / 8;
                Poly1305Vector512.Blocks(ref h0, ref h1, ref h2, r0, r1, ref data, groups);
                i = groups * 8;
            }
            else if (_widest >= ChaCha20Implementation.Vector256 && Avx2.IsSupported)
            {
                int groups = count / 4;
                Poly1305Vector256.Blocks(ref h0, ref h1, ref h2, r0, r1, ref data, groups);
                i = groups * 4;
            }
            else if (_widest >= ChaCha20Implementation.Vector128 && Poly1305Vector128.IsSupported)
            {
                int groups = count / 4;
                Poly1305Vector128.Blocks(ref h0, ref h1, ref h2, r0, r1, ref data, groups);
                i = groups * 4;
            }
        }

        for (; i < count; i++)
        {
            ulong m0 = BinaryPrimitives.ReadUInt64LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref data, i * BlockSize), 8));
            ulong m1 = BinaryPrimitives.ReadUInt64LittleEndian(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref data, (i * BlockSize) + 8), 8));

            // h += m, plus the 2^128 "one" bit for a full block (padBit = 1).
            ulong a0 = h0 + m0;
            ulong c = Carry(h0, m0, a0);
            ulong a1 = h1 + m1;
            ulong c1 = Carry(h1, m1, a1);
            ulong b1 = a1 + c;
            c1 += Carry(a1, c, b1);
            h2 += c1 + padBit;
            h0 = a0;
            h1 = b1;

            // h *= r, partially reduced: d0 = h0 r0 + h1 s1, d1 = h0 r1 + h1 r0 + h2 s1, h2 = h2 r0.
            ulong d0hi = Math.BigMul(h0, r0, out ulong d0lo);
            ulong hi = Math.BigMul(h1, s1, out ulong lo);
            ulong sum = d0lo + lo;
            d0hi += hi + Carry(d0lo, lo, sum);
            d0lo = sum;

            ulong d1hi = Math.BigMul(h0, r1, out ulong d1lo);
            hi = Math.BigMul(h1, r0, out lo);
            sum = d1lo + lo;
            d1hi += hi + Carry(d1lo, lo, sum);
            d1lo = sum;
            lo = h2 * s1;
            sum = d1lo + lo;
            d1hi += Carry(d1lo, lo, sum);
            d1lo = sum;
            h2 *= r0;

            // Fold: h = d0 + d1 * 2^64 + h2 * 2^128, then bits >= 2^130 times 5 back into the bottom.
            h0 = d0lo;
            sum = d1lo + d0hi;
            d1hi += Carry(d1lo, d0hi, sum);
            h1 = sum;
            h2 += d1hi;

            c = (h2 >> 2) + (h2 & ~3UL);
            h2 &= 3;
            sum = h0 + c;
            c = Carry(h0, c, sum);
            h0 = sum;
            sum = h1 + c;
            c = Carry(h1, c, sum);
            h1 = sum;
            h2 += c;
        }

        _h0 = h0;
        _h1 = h1;
        _h2 = h2;
    }

    /// <summary>Carry out of <c>sum = a + b</c> (0 or 1) without a compare the JIT might turn into a branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Carry(ulong a, ulong b, ulong sum) => ((a & b) | ((a | b) & ~sum)) >> 63;
}
