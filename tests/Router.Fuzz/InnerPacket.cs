using System.Buffers.Binary;
using CsCheck;
using Router.Linux;

namespace Router.Fuzz;

/// <summary>The shape of one generated TCP or UDP packet of a flow (what a sender's stack or TSO would emit).</summary>
internal sealed record PacketShape(int Flow, bool V6, bool Udp, int Payload, byte TcpFlags, bool SequenceGap, int IdMode,
    bool Df, bool Options, int Quirk, Mutation[] Damage);

/// <summary>
/// Builds IPv4/IPv6 TCP (with a timestamps option) and UDP packets with valid checksums, from a <see cref="PacketShape"/>:
/// mostly well-formed segments of up to three flows, with the header differences and damage the GRO rules must catch.
/// </summary>
internal static class InnerPacket
{
    public static readonly Gen<PacketShape> Shape = Gen.Select(
        Gen.Int[0, 2], Gen.Bool, Gen.Int[0, 3].Select(n => n == 0),
        Gen.Frequency((6, Gen.Const(1000)), (2, Gen.Int[0, 1000]), (1, Gen.Int[1001, 1600])),
        Gen.Frequency((8, Gen.Const((byte)0x10)), (2, Gen.Const((byte)0x18)), (1, Gen.Byte)),
        Gen.Int[0, 15].Select(n => n == 0),
        Gen.Int[0, 3],
        Gen.Int[0, 5].Select(n => n != 0),
        Gen.Int[0, 7].Select(n => n == 0),
        Gen.Int[0, 15],
        Gen.Frequency((12, Gen.Const(Array.Empty<Mutation>())), (1, Mutation.Steps(3))),
        (flow, v6, udp, payload, flags, gap, id, df, options, quirk, damage) => new PacketShape(flow, v6, udp, payload, flags, gap, id, df, options, quirk, damage));

    private sealed class FlowState
    {
        public uint Sequence = 0xfffff000;
        public ushort Id = 0xfff0;
    }

    /// <summary>Builds the batch in order, each flow continuing its own sequence numbers and IDs.</summary>
    public static List<byte[]> Batch(PacketShape[] shapes)
    {
        var flows = new Dictionary<int, FlowState>();
        var packets = new List<byte[]>(shapes.Length);
        foreach (PacketShape s in shapes)
        {
            int key = s.Flow * 4 + (s.V6 ? 2 : 0) + (s.Udp ? 1 : 0);
            FlowState flow = flows.TryGetValue(key, out FlowState? f) ? f : flows[key] = new FlowState();
            packets.Add(Build(s, flow));
        }
        return packets;
    }

    private static byte[] Build(PacketShape s, FlowState flow)
    {
        int ipLength = s.V6 ? 40 : 20, l4Header = s.Udp ? 8 : s.Options ? 20 : 32;
        var p = new byte[ipLength + l4Header + s.Payload];
        for (int i = ipLength + l4Header; i < p.Length; i++)
            p[i] = (byte)(i * 7 + flow.Sequence);
        if (s.V6)
        {
            p[0] = 0x60;
            p[2] = (byte)(s.Quirk == 1 ? 0x34 : 0x12); // flow label
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(p.Length - 40));
            p[6] = (byte)(s.Udp ? 17 : 6);
            p[7] = (byte)(s.Quirk == 2 ? 63 : 64);
            p[8] = 0xfd;
            p[23] = (byte)(1 + s.Flow);
            p[24] = 0xfd;
            p[39] = 2;
        }
        else
        {
            p[0] = 0x45;
            p[1] = (byte)(s.Quirk == 1 ? 0x10 : 0);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            ushort id = s.IdMode switch { 0 or 1 => flow.Id++, 2 => flow.Id, _ => (ushort)(s.Quirk * 977) };
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
            p[6] = (byte)(s.Df ? 0x40 : 0);
            if (s.Quirk == 3)
                p[6] |= 0x20; // more fragments
            p[8] = (byte)(s.Quirk == 2 ? 63 : 64);
            p[9] = (byte)(s.Udp ? 17 : 6);
            p[12] = 10;
            p[15] = (byte)(1 + s.Flow);
            p[16] = 10;
            p[19] = 2;
        }
        Span<byte> l4 = p.AsSpan(ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(l4, (ushort)(40000 + s.Flow));
        BinaryPrimitives.WriteUInt16BigEndian(l4[2..], 5201);
        if (s.Udp)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4[4..], (ushort)l4.Length);
        }
        else
        {
            if (s.SequenceGap)
                flow.Sequence += 1000;
            BinaryPrimitives.WriteUInt32BigEndian(l4[4..], flow.Sequence);
            flow.Sequence += (uint)s.Payload;
            BinaryPrimitives.WriteUInt32BigEndian(l4[8..], s.Quirk == 4 ? 999u : 12345u);
            l4[12] = (byte)((l4Header / 4) << 4);
            l4[13] = s.TcpFlags;
            BinaryPrimitives.WriteUInt16BigEndian(l4[14..], (ushort)(s.Quirk == 5 ? 500 : 65000));
            if (!s.Options)
            {
                l4[20] = 1;
                l4[21] = 1;
                l4[22] = 8;
                l4[23] = 10;
                BinaryPrimitives.WriteUInt32BigEndian(l4[24..], s.Quirk == 6 ? 7u : 1u);
            }
        }
        FixChecksums(p);
        byte[] damaged = s.Damage.Length == 0 ? p : Mutation.Apply(p, s.Damage, []);
        return damaged.Length == 0 ? p : damaged;
    }

    /// <summary>Recomputes the IPv4 header and TCP/UDP checksums of a well-formed packet.</summary>
    public static void FixChecksums(byte[] p)
    {
        bool v4 = p[0] >> 4 == 4;
        int ipLength = v4 ? 20 : 40;
        int protocol = v4 ? p[9] : p[6];
        if (v4)
        {
            p[10] = p[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), (ushort)~TunOffload.Fold(TunOffload.Sum(p.AsSpan(0, 20), 0)));
        }
        int at = ipLength + (protocol == 17 ? 6 : 16);
        p[at] = p[at + 1] = 0;
        uint pseudo = v4
            ? TunOffload.Sum(p.AsSpan(12, 8), (uint)protocol + (uint)(p.Length - ipLength))
            : TunOffload.Sum(p.AsSpan(8, 32), (uint)protocol + (uint)(p.Length - ipLength));
        ushort checksum = (ushort)~TunOffload.Fold(TunOffload.Sum(p.AsSpan(ipLength), pseudo));
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(at), protocol == 17 && checksum == 0 ? (ushort)0xffff : checksum);
    }
}
