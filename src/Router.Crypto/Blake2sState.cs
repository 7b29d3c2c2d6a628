using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace Router.Crypto;

/// <summary>
/// Incremental BLAKE2s (RFC 7693): 32-bit words, 64-byte blocks, 10 rounds, output 1..32 bytes,
/// optional key of 1..32 bytes. Sequential parameter block only (fanout = depth = 1, no salt or
/// personalization), which is all WireGuard uses.
/// The struct holds all state inline (no allocation). It is a mutable value type: pass it by ref.
/// </summary>
public struct Blake2sState
{
    private const int BlockSize = 64;

    private HashWords _h;
    private Block _buffer;
    private int _bufferLength;
    private ulong _bytesCompressed;
    private int _outputLength;

    /// <summary>Starts an unkeyed hash producing <paramref name="outputLength"/> bytes (1..32).</summary>
    public Blake2sState(int outputLength)
        : this(outputLength, ReadOnlySpan<byte>.Empty)
    {
    }

    /// <summary>Starts a keyed hash (a MAC when the key is secret); an empty key means unkeyed.</summary>
    public Blake2sState(int outputLength, ReadOnlySpan<byte> key)
    {
        if ((uint)(outputLength - 1) >= Blake2s.MaxOutputLength)
        {
            throw new ArgumentOutOfRangeException(nameof(outputLength), "BLAKE2s output is 1..32 bytes.");
        }

        if (key.Length > Blake2s.MaxKeyLength)
        {
            throw new ArgumentException("A BLAKE2s key is at most 32 bytes.", nameof(key));
        }

        _outputLength = outputLength;
        for (int i = 0; i < 8; i++)
        {
            _h[i] = Blake2s.IV[i];
        }

        // Parameter block word 0: digest length, key length, fanout 1, depth 1 (RFC 7693 section 2.5).
        _h[0] ^= 0x01010000u ^ ((uint)key.Length << 8) ^ (uint)outputLength;

        if (!key.IsEmpty)
        {
            // The key, zero-padded to a full block, is the first block of input.
            Span<byte> buffer = _buffer;
            key.CopyTo(buffer);
            _bufferLength = BlockSize;
        }
    }

    /// <summary>The number of bytes <see cref="Finish"/> writes.</summary>
    public readonly int OutputLength => _outputLength;

    /// <summary>Absorbs <paramref name="data"/>.</summary>
    public void Update(ReadOnlySpan<byte> data)
    {
        if (_outputLength == 0)
        {
            throw new InvalidOperationException("Blake2sState used before construction or after Finish.");
        }

        if (data.IsEmpty)
        {
            return;
        }

        Span<byte> buffer = _buffer;

        // The last block must be compressed with the final flag, so a full buffer is kept until
        // more input proves it is not the last one.
        int free = BlockSize - _bufferLength;
        if (data.Length > free)
        {
            data[..free].CopyTo(buffer[_bufferLength..]);
            data = data[free..];
            _bytesCompressed += BlockSize;
            Compress(ref _h, buffer, _bytesCompressed, isLast: false);
            _bufferLength = 0;

            while (data.Length > BlockSize)
            {
                _bytesCompressed += BlockSize;
                Compress(ref _h, data[..BlockSize], _bytesCompressed, isLast: false);
                data = data[BlockSize..];
            }
        }

        data.CopyTo(buffer[_bufferLength..]);
        _bufferLength += data.Length;
    }

    /// <summary>
    /// Writes the digest to the first <see cref="OutputLength"/> bytes of <paramref name="output"/>
    /// (which must be at least that long) and zeroes the state, which cannot be used again.
    /// </summary>
    public void Finish(Span<byte> output)
    {
        if (_outputLength == 0)
        {
            throw new InvalidOperationException("Blake2sState used before construction or after Finish.");
        }

        if (output.Length < _outputLength)
        {
            throw new ArgumentException("Output is shorter than the digest length.", nameof(output));
        }

        Span<byte> buffer = _buffer;
        buffer[_bufferLength..].Clear();
        _bytesCompressed += (ulong)_bufferLength;
        Compress(ref _h, buffer, _bytesCompressed, isLast: true);

        Span<byte> digest = stackalloc byte[32];
        for (int i = 0; i < 8; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(digest[(i * 4)..], _h[i]);
        }

        digest[.._outputLength].CopyTo(output);
        CryptographicOperations.ZeroMemory(digest);
        this = default;
    }

    /// <summary>The compression function F (RFC 7693 section 3.2).</summary>
    private static void Compress(ref HashWords h, ReadOnlySpan<byte> block, ulong counter, bool isLast)
    {
        Span<uint> m = stackalloc uint[16];
        for (int i = 0; i < 16; i++)
        {
            m[i] = BinaryPrimitives.ReadUInt32LittleEndian(block[(i * 4)..]);
        }

        uint v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3], v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
        uint v8 = Blake2s.IV[0], v9 = Blake2s.IV[1], v10 = Blake2s.IV[2], v11 = Blake2s.IV[3];
        uint v12 = Blake2s.IV[4] ^ (uint)counter;
        uint v13 = Blake2s.IV[5] ^ (uint)(counter >> 32);
        uint v14 = isLast ? ~Blake2s.IV[6] : Blake2s.IV[6];
        uint v15 = Blake2s.IV[7];

        ReadOnlySpan<byte> sigma = Sigma;
        for (int round = 0; round < 10; round++)
        {
            ReadOnlySpan<byte> s = sigma.Slice(round * 16, 16);
            G(ref v0, ref v4, ref v8, ref v12, m[s[0]], m[s[1]]);
            G(ref v1, ref v5, ref v9, ref v13, m[s[2]], m[s[3]]);
            G(ref v2, ref v6, ref v10, ref v14, m[s[4]], m[s[5]]);
            G(ref v3, ref v7, ref v11, ref v15, m[s[6]], m[s[7]]);
            G(ref v0, ref v5, ref v10, ref v15, m[s[8]], m[s[9]]);
            G(ref v1, ref v6, ref v11, ref v12, m[s[10]], m[s[11]]);
            G(ref v2, ref v7, ref v8, ref v13, m[s[12]], m[s[13]]);
            G(ref v3, ref v4, ref v9, ref v14, m[s[14]], m[s[15]]);
        }

        h[0] ^= v0 ^ v8;
        h[1] ^= v1 ^ v9;
        h[2] ^= v2 ^ v10;
        h[3] ^= v3 ^ v11;
        h[4] ^= v4 ^ v12;
        h[5] ^= v5 ^ v13;
        h[6] ^= v6 ^ v14;
        h[7] ^= v7 ^ v15;
        CryptographicOperations.ZeroMemory(System.Runtime.InteropServices.MemoryMarshal.AsBytes(m));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(ref uint a, ref uint b, ref uint c, ref uint d, uint x, uint y)
    {
        a = a + b + x;
        d = BitOperations.RotateRight(d ^ a, 16);
        c += d;
        b = BitOperations.RotateRight(b ^ c, 12);
        a = a + b + y;
        d = BitOperations.RotateRight(d ^ a, 8);
        c += d;
        b = BitOperations.RotateRight(b ^ c, 7);
    }

    /// <summary>Message word schedule, RFC 7693 section 2.7 (rows 0..9).</summary>
    private static ReadOnlySpan<byte> Sigma =>
    [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
        11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
        7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
        9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
        2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
        12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
        13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
        6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
        10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
    ];

    [InlineArray(8)]
    private struct HashWords
    {
        private uint _element0;
    }

    [InlineArray(BlockSize)]
    private struct Block
    {
        private byte _element0;
    }
}
