using System.Buffers.Binary;
using static Router.Tunnel.ProtocolConstants;

namespace Router.Tunnel;

/// <summary>The four WireGuard message types (whitepaper section 5.4). The header is read as one little-endian u32,
/// so nonzero reserved bytes make an unknown type.</summary>
internal enum MessageType : uint
{
    Initiation = 1,
    Response = 2,
    CookieReply = 3,
    Transport = 4,
}

/// <summary>Field offsets of the wire formats (PROTOCOL.md "Wire formats"). All integers little-endian.</summary>
internal static class Messages
{
    // Handshake initiation, 148 bytes.
    public const int InitSender = 4;
    public const int InitEphemeral = 8;
    public const int InitStatic = 40;         // 32 + 16 tag
    public const int InitTimestamp = 88;      // 12 + 16 tag
    public const int InitMac1 = 116;
    public const int InitMac2 = 132;

    // Handshake response, 92 bytes.
    public const int RespSender = 4;
    public const int RespReceiver = 8;
    public const int RespEphemeral = 12;
    public const int RespEmpty = 44;          // 0 + 16 tag
    public const int RespMac1 = 60;
    public const int RespMac2 = 76;

    // Cookie reply, 64 bytes.
    public const int CookieReceiver = 4;
    public const int CookieNonce = 8;
    public const int CookieEncrypted = 32;    // 16 + 16 tag

    // Transport data, 16-byte header then ciphertext.
    public const int TransportReceiver = 4;
    public const int TransportCounter = 8;

    /// <summary>
    /// Classifies a datagram by its header and exact size. Returns false (with the drop reason) for anything that is
    /// not one of the four messages at a valid size.
    /// </summary>
    public static bool TryClassify(ReadOnlySpan<byte> packet, out MessageType type, out DropReason reason)
    {
        type = default;
        if (packet.Length < 4)
        {
            reason = DropReason.TooShort;
            return false;
        }
        type = (MessageType)BinaryPrimitives.ReadUInt32LittleEndian(packet);
        int expected;
        switch (type)
        {
            case MessageType.Initiation: expected = InitiationSize; break;
            case MessageType.Response: expected = ResponseSize; break;
            case MessageType.CookieReply: expected = CookieReplySize; break;
            case MessageType.Transport:
                reason = packet.Length < KeepaliveSize ? DropReason.TooShort : default;
                return packet.Length >= KeepaliveSize;
            default:
                reason = DropReason.UnknownType;
                return false;
        }
        if (packet.Length != expected)
        {
            reason = packet.Length < expected ? DropReason.TooShort : DropReason.BadSize;
            return false;
        }
        reason = default;
        return true;
    }

    public static void WriteHeader(Span<byte> message, MessageType type) => BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)type);

    public static uint ReadU32(ReadOnlySpan<byte> message, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(message[offset..]);

    public static void WriteU32(Span<byte> message, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(message[offset..], value);

    public static ulong ReadCounter(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadUInt64LittleEndian(message[TransportCounter..]);

    public static void WriteTransportHeader(Span<byte> header16, uint receiver, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header16, (uint)MessageType.Transport);
        BinaryPrimitives.WriteUInt32LittleEndian(header16[TransportReceiver..], receiver);
        BinaryPrimitives.WriteUInt64LittleEndian(header16[TransportCounter..], counter);
    }

    /// <summary>Plaintext length after padding to a multiple of 16, never beyond the MTU (whitepaper 5.4.6).</summary>
    public static int PaddedLength(int length, int mtu)
    {
        int padded = (length + PaddingMultiple - 1) & ~(PaddingMultiple - 1);
        if (length <= mtu && padded > mtu)
            padded = mtu;
        return padded;
    }
}
