using System.Buffers.Binary;

namespace Router.Tunnel;

/// <summary>
/// The few IP header fields cryptokey routing needs (RFC 791, RFC 8200): version, total length, source and
/// destination. No options or extension headers are parsed.
/// </summary>
internal static class InnerPacket
{
    public const int IPv4HeaderSize = 20;
    public const int IPv6HeaderSize = 40;

    /// <summary>The destination address bytes (4 or 16), or empty when the packet is not a valid IP packet.</summary>
    public static ReadOnlySpan<byte> Destination(ReadOnlySpan<byte> packet)
    {
        if (packet.Length >= IPv4HeaderSize && packet[0] >> 4 == 4)
            return packet.Slice(16, 4);
        if (packet.Length >= IPv6HeaderSize && packet[0] >> 4 == 6)
            return packet.Slice(24, 16);
        return default;
    }

    /// <summary>
    /// Validates a decrypted packet and returns its real length (padding removed) and source address.
    /// False when it is not IPv4/IPv6 or its length field exceeds what arrived.
    /// </summary>
    public static bool TryParseReceived(ReadOnlySpan<byte> plaintext, out int length, out ReadOnlySpan<byte> source)
    {
        length = 0;
        source = default;
        if (plaintext.Length >= IPv4HeaderSize && plaintext[0] >> 4 == 4)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(plaintext[2..]);
            if (length < IPv4HeaderSize || length > plaintext.Length)
                return false;
            source = plaintext.Slice(12, 4);
            return true;
        }
        if (plaintext.Length >= IPv6HeaderSize && plaintext[0] >> 4 == 6)
        {
            length = IPv6HeaderSize + BinaryPrimitives.ReadUInt16BigEndian(plaintext[4..]);
            if (length > plaintext.Length)
                return false;
            source = plaintext.Slice(8, 16);
            return true;
        }
        return false;
    }
}
