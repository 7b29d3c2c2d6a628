using System.Buffers.Binary;
using CsCheck;

namespace Router.Fuzz;

/// <summary>What one mutation step does (AFL's "havoc" stage in miniature).</summary>
internal enum MutationKind : byte
{
    FlipBit,
    SetByte,
    SetInterestingByte,
    SetInterestingWord,
    Truncate,
    Append,
    InsertBytes,
    DeleteBytes,
    CopyBlock,
    SpliceOther,
}

/// <summary>One mutation step; positions and lengths are taken modulo the input, so every step applies to every input.</summary>
internal readonly record struct Mutation(MutationKind Kind, int Position, int Length, byte Value, int Other)
{
    private static readonly byte[] InterestingBytes = [0, 1, 0x7f, 0x80, 0xff, 4, 0x10, 0x40];
    private static readonly uint[] InterestingWords = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0xffff, 0x10000, 1420, 65535, 1500];

    public static readonly Gen<Mutation> Gen = CsCheck.Gen.Select(
        CsCheck.Gen.Enum<MutationKind>(), CsCheck.Gen.Int[0, 1 << 16], CsCheck.Gen.Int[0, 64], CsCheck.Gen.Byte, CsCheck.Gen.Int[0, 1 << 10],
        (kind, position, length, value, other) => new Mutation(kind, position, length, value, other));

    /// <summary>Up to <paramref name="max"/> steps; none at all leaves the seed as it was (the valid input itself).</summary>
    public static Gen<Mutation[]> Steps(int max = 8) => Gen.Array[0, max];

    /// <summary>Applies <paramref name="steps"/> to a copy of <paramref name="seed"/>; <paramref name="others"/> feed splices.</summary>
    public static byte[] Apply(ReadOnlySpan<byte> seed, Mutation[] steps, IReadOnlyList<byte[]> others, int maxLength = 1 << 16)
    {
        var data = new List<byte>(seed.Length + 64);
        foreach (byte b in seed)
            data.Add(b);
        foreach (Mutation m in steps)
        {
            int n = data.Count;
            int at = n == 0 ? 0 : m.Position % n;
            switch (m.Kind)
            {
                case MutationKind.FlipBit when n > 0:
                    data[at] ^= (byte)(1 << (m.Value & 7));
                    break;
                case MutationKind.SetByte when n > 0:
                    data[at] = m.Value;
                    break;
                case MutationKind.SetInterestingByte when n > 0:
                    data[at] = InterestingBytes[m.Value % InterestingBytes.Length];
                    break;
                case MutationKind.SetInterestingWord when n >= 4:
                {
                    at = m.Position % (n - 3);
                    Span<byte> word = stackalloc byte[4];
                    uint value = InterestingWords[m.Value % InterestingWords.Length];
                    if ((m.Other & 1) == 0)
                        BinaryPrimitives.WriteUInt32LittleEndian(word, value);
                    else
                        BinaryPrimitives.WriteUInt32BigEndian(word, value);
                    int width = (m.Other & 2) == 0 ? 4 : 2;
                    for (int i = 0; i < width; i++)
                        data[at + i] = word[(m.Other & 1) == 0 ? i : 4 - width + i];
                    break;
                }
                case MutationKind.Truncate when n > 0:
                    data.RemoveRange(at, n - at);
                    break;
                case MutationKind.Append:
                    for (int i = 0; i < m.Length + 1 && data.Count < maxLength; i++)
                        data.Add((byte)(m.Value + i * 37));
                    break;
                case MutationKind.InsertBytes:
                    for (int i = 0; i < m.Length + 1 && data.Count < maxLength; i++)
                        data.Insert(at, m.Value);
                    break;
                case MutationKind.DeleteBytes when n > 0:
                    data.RemoveRange(at, Math.Min(m.Length + 1, n - at));
                    break;
                case MutationKind.CopyBlock when n > 1:
                {
                    int from = m.Other % n, length = Math.Min(m.Length + 1, Math.Min(n - from, n - at));
                    for (int i = 0; i < length; i++)
                        data[at + i] = data[from + i];
                    break;
                }
                case MutationKind.SpliceOther when others.Count > 0:
                {
                    byte[] other = others[m.Other % others.Count];
                    if (other.Length == 0)
                        break;
                    int from = m.Position % other.Length, length = Math.Min(m.Length + 1, other.Length - from);
                    for (int i = 0; i < length; i++)
                    {
                        if (at + i < data.Count)
                            data[at + i] = other[from + i];
                        else if (data.Count < maxLength)
                            data.Add(other[from + i]);
                    }
                    break;
                }
            }
        }
        return data.ToArray();
    }
}
