using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Router.Tunnel.IO;

/// <summary>
/// A UDP peer address as a value (no allocation on the packet path), with the local address and interface the
/// last packet from it arrived on, so replies leave from the same source ("sticky" source, as the kernel does).
/// IPv4 is stored as an IPv4-mapped IPv6 address.
/// </summary>
public readonly record struct Endpoint
{
    /// <summary>Remote address, IPv6 or IPv4-mapped, in network byte order.</summary>
    public readonly UInt128 Address;

    /// <summary>Remote UDP port (host order). Zero means "no endpoint".</summary>
    public readonly ushort Port;

    /// <summary>Local address the last packet arrived on (same encoding); zero when unknown.</summary>
    public readonly UInt128 LocalAddress;

    /// <summary>Local interface index the last packet arrived on; zero when unknown.</summary>
    public readonly int LocalInterface;

    public Endpoint(UInt128 address, ushort port, UInt128 localAddress = default, int localInterface = 0)
    {
        Address = address;
        Port = port;
        LocalAddress = localAddress;
        LocalInterface = localInterface;
    }

    private static readonly UInt128 MappedPrefix = new(0, 0x0000_FFFF_0000_0000UL);
    private static readonly UInt128 MappedMask = new(ulong.MaxValue, 0xFFFF_FFFF_0000_0000UL);

    /// <summary>True when this endpoint is set.</summary>
    public bool IsSet => Port != 0;

    /// <summary>True when the address is IPv4 (IPv4-mapped).</summary>
    public bool IsIPv4 => (ToHostOrder(Address) & MappedMask) == MappedPrefix;

    /// <summary>This endpoint without the sticky local address (used when the local address went away).</summary>
    public Endpoint WithoutSource() => new(Address, Port);

    /// <summary>Builds an endpoint from raw address bytes (4 or 16) in network order.</summary>
    public static Endpoint FromBytes(ReadOnlySpan<byte> address, ushort port, ReadOnlySpan<byte> localAddress = default, int localInterface = 0)
        => new(Encode(address), port, localAddress.IsEmpty ? default : Encode(localAddress), localInterface);

    /// <summary>Writes the 16-byte (IPv6 or IPv4-mapped) form of the remote address.</summary>
    public void WriteAddress(Span<byte> destination16) => BinaryPrimitives.WriteUInt128BigEndian(destination16, ToHostOrder(Address));

    /// <summary>Writes the 4-byte IPv4 address; only valid when <see cref="IsIPv4"/>.</summary>
    public void WriteIPv4(Span<byte> destination4) => BinaryPrimitives.WriteUInt32BigEndian(destination4, (uint)ToHostOrder(Address));

    /// <summary>For configuration and display only (allocates).</summary>
    public static Endpoint FromIPEndPoint(IPEndPoint ep)
    {
        Span<byte> bytes = stackalloc byte[16];
        ep.Address.TryWriteBytes(bytes, out int written);
        return FromBytes(bytes[..written], (ushort)ep.Port);
    }

    /// <summary>For configuration and display only (allocates).</summary>
    public IPEndPoint ToIPEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        WriteAddress(bytes);
        var ip = new IPAddress(bytes);
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        return new IPEndPoint(ip, Port);
    }

    /// <summary>The form wg(8) prints and parses: 1.2.3.4:51820 or [v6]:51820 (allocates).</summary>
    public override string ToString() => IsSet ? ToIPEndPoint().ToString() : "(none)";

    private static UInt128 Encode(ReadOnlySpan<byte> address)
    {
        UInt128 hostOrder = address.Length switch
        {
            4 => MappedPrefix | BinaryPrimitives.ReadUInt32BigEndian(address),
            16 => BinaryPrimitives.ReadUInt128BigEndian(address),
            _ => throw new ArgumentException("An IP address is 4 or 16 bytes.", nameof(address)),
        };
        return ToNetworkOrder(hostOrder);
    }

    // Stored in network order so equality and hashing need no conversion; converted only at the edges.
    private static UInt128 ToNetworkOrder(UInt128 hostOrder) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(hostOrder) : hostOrder;
    private static UInt128 ToHostOrder(UInt128 networkOrder) => ToNetworkOrder(networkOrder);

    internal static AddressFamily FamilyOf(in Endpoint e) => e.IsIPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
}
