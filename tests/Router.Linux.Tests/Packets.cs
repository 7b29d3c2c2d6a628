using System.Buffers.Binary;
using System.Net;

namespace Router.Linux.Tests;

/// <summary>Just enough IPv4 to answer pings and build UDP datagrams in tests.</summary>
internal static class Packets
{
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if ((data.Length & 1) != 0)
            sum += (uint)data[^1] << 8;
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>Turns an ICMP echo request (IPv4) in place into its echo reply; false if it is not one.</summary>
    public static bool TryMakeEchoReply(Span<byte> packet)
    {
        if (packet.Length < 28 || packet[0] >> 4 != 4 || packet[9] != 1)
            return false;
        int headerLength = (packet[0] & 0xf) * 4;
        Span<byte> icmp = packet[headerLength..];
        if (icmp[0] != 8)
            return false;
        // Swapping source and destination leaves the IP header checksum as it was.
        Span<byte> source = stackalloc byte[4];
        packet[12..16].CopyTo(source);
        packet[16..20].CopyTo(packet[12..16]);
        source.CopyTo(packet[16..20]);
        icmp[0] = 0;
        icmp[2] = icmp[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return true;
    }

    /// <summary>Writes an IPv4/UDP datagram (UDP checksum 0 = none, allowed for IPv4) and returns its length.</summary>
    public static int WriteUdp4(Span<byte> destination, IPAddress source, ushort sourcePort, IPAddress target, ushort targetPort, ReadOnlySpan<byte> payload)
    {
        int length = 28 + payload.Length;
        Span<byte> ip = destination[..length];
        ip.Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)length);
        ip[6] = 0x40; // don't fragment
        ip[8] = 64;
        ip[9] = 17;
        source.TryWriteBytes(ip[12..16], out _);
        target.TryWriteBytes(ip[16..20], out _);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..20]));
        BinaryPrimitives.WriteUInt16BigEndian(ip[20..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(ip[22..], targetPort);
        BinaryPrimitives.WriteUInt16BigEndian(ip[24..], (ushort)(8 + payload.Length));
        payload.CopyTo(ip[28..]);
        return length;
    }
}
