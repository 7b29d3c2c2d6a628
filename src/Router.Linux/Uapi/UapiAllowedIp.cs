using System.Buffers.Binary;
using System.Net;

namespace Router.Linux.Uapi;

/// <summary>
/// One allowed IP prefix from or for the UAPI: address bits as given (host bits are kept, as wireguard-go accepts
/// them; the allowed-IPs trie masks), prefix length, and whether a set request asks to remove it ('-' prefix).
/// </summary>
public readonly record struct UapiAllowedIp
{
    /// <summary>The address in host order: IPv4 in the low 32 bits.</summary>
    public UInt128 Bits { get; }

    public bool IsIPv6 { get; }

    public byte Cidr { get; }

    /// <summary>In a set request: remove this prefix from the peer instead of adding it.</summary>
    public bool Remove { get; }

    public UapiAllowedIp(UInt128 bits, bool isIPv6, byte cidr, bool remove = false)
    {
        if (cidr > (isIPv6 ? 128 : 32))
            throw new ArgumentOutOfRangeException(nameof(cidr));
        if (!isIPv6 && bits > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(bits));
        Bits = bits;
        IsIPv6 = isIPv6;
        Cidr = cidr;
        Remove = remove;
    }

    /// <summary>The same prefix as an add (for snapshots).</summary>
    public UapiAllowedIp AsAdd() => new(Bits, IsIPv6, Cidr);

    public static UapiAllowedIp From(IPAddress address, byte cidr, bool remove = false)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return written == 4
            ? new UapiAllowedIp(BinaryPrimitives.ReadUInt32BigEndian(bytes), false, cidr, remove)
            : new UapiAllowedIp(BinaryPrimitives.ReadUInt128BigEndian(bytes), true, cidr, remove);
    }

    /// <summary>Writes the address in network order (4 or 16 bytes) and returns the length.</summary>
    public int WriteAddress(Span<byte> destination)
    {
        if (IsIPv6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(destination, Bits);
            return 16;
        }
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Bits);
        return 4;
    }

    /// <summary>For display and configuration (allocates).</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        return new IPAddress(bytes[..WriteAddress(bytes)]);
    }

    /// <summary>The form wg(8) prints: address/cidr, with '-' in front for a removal.</summary>
    public override string ToString() => $"{(Remove ? "-" : "")}{ToIPAddress()}/{Cidr}";
}
