using System.Buffers.Binary;
using Router.Tunnel.Noise;

namespace Router.Tunnel.Tests;

/// <summary>
/// Builds and opens transport messages with .NET's ChaCha20-Poly1305 (OpenSSL), independent of the engine's own
/// AEAD and nonce code: nonce = 4 zero bytes || counter as u64 little-endian (whitepaper 5.4.6).
/// </summary>
internal static class TransportOracle
{
    public static byte[] Nonce(ulong counter)
    {
        var nonce = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), counter);
        return nonce;
    }

    /// <summary>A transport message under <paramref name="key"/> to <paramref name="receiver"/>, padded to 16.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> key, uint receiver, ulong counter, ReadOnlySpan<byte> packet)
    {
        int padded = (packet.Length + 15) & ~15;
        var plaintext = new byte[padded];
        packet.CopyTo(plaintext);
        var message = new byte[16 + padded + 16];
        BinaryPrimitives.WriteUInt32LittleEndian(message, 4);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), receiver);
        BinaryPrimitives.WriteUInt64LittleEndian(message.AsSpan(8), counter);
        using var aead = new System.Security.Cryptography.ChaCha20Poly1305(key);
        aead.Encrypt(Nonce(counter), plaintext, message.AsSpan(16, padded), message.AsSpan(16 + padded, 16));
        return message;
    }

    /// <summary>Seals with the keypair A uses to send to B (so B can open it).</summary>
    public static byte[] SealFromA(TwoDevices net, ulong counter, ReadOnlySpan<byte> packet)
    {
        Keypair keypair = net.PeerBOnA.Keypairs.Current!;
        return Seal(keypair.SendKey, keypair.RemoteIndex, counter, packet);
    }

    /// <summary>Opens a transport message with <paramref name="key"/>; null when the tag does not verify.</summary>
    public static byte[]? Open(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message)
    {
        ulong counter = BinaryPrimitives.ReadUInt64LittleEndian(message[8..]);
        var plaintext = new byte[message.Length - 32];
        using var aead = new System.Security.Cryptography.ChaCha20Poly1305(key);
        try
        {
            aead.Decrypt(Nonce(counter), message[16..^16], message[^16..], plaintext);
            return plaintext;
        }
        catch (System.Security.Cryptography.AuthenticationTagMismatchException)
        {
            return null;
        }
    }
}
