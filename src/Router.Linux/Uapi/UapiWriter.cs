using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Linux.Uapi;

/// <summary>
/// Builds a <c>get=1</c> reply: <c>key=value\n</c> lines in a growing byte buffer. Keys print as 64 lowercase hex
/// digits. The buffer is wiped after each reply, since it may hold the private key.
/// </summary>
public sealed class UapiWriter
{
    private byte[] _buffer = new byte[16 * 1024];
    private int _length;

    /// <summary>The bytes written so far.</summary>
    internal ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>The bytes written so far, for an asynchronous send.</summary>
    internal ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    /// <summary>The buffer's size (it grows for big devices).</summary>
    internal int Capacity => _buffer.Length;

    /// <summary>Writes a whole device in the order wireguard-go prints it.</summary>
    public void WriteDevice(UapiDeviceSnapshot device)
    {
        if (!device.PrivateKey.IsZero)
            WriteKey("private_key"u8, device.PrivateKey);
        if (device.ListenPort != 0)
            WriteNumber("listen_port"u8, device.ListenPort);
        if (device.Fwmark != 0)
            WriteNumber("fwmark"u8, device.Fwmark);
        foreach (UapiPeerSnapshot peer in device.Peers)
            WritePeer(peer);
    }

    /// <summary>Writes one peer: public_key first, since it opens the peer's section.</summary>
    public void WritePeer(UapiPeerSnapshot peer)
    {
        WriteKey("public_key"u8, peer.PublicKey);
        WriteKey("preshared_key"u8, peer.PresharedKey);
        WriteNumber("protocol_version"u8, 1);
        if (peer.Endpoint.IsSet)
            WriteEndpoint(peer.Endpoint);
        WriteNumber("last_handshake_time_sec"u8, (ulong)peer.LastHandshakeSeconds);
        WriteNumber("last_handshake_time_nsec"u8, (ulong)peer.LastHandshakeNanoseconds);
        WriteNumber("tx_bytes"u8, peer.TxBytes);
        WriteNumber("rx_bytes"u8, peer.RxBytes);
        WriteNumber("persistent_keepalive_interval"u8, peer.PersistentKeepaliveInterval);
        foreach (UapiAllowedIp allowedIp in peer.AllowedIps)
            WriteAllowedIp(allowedIp);
    }

    public void WriteKey(ReadOnlySpan<byte> name, in Key32 key)
    {
        Span<byte> line = Reserve(name.Length + 1 + Key32.Size * 2 + 1);
        name.CopyTo(line);
        line[name.Length] = (byte)'=';
        UapiHex.Write(key, line[(name.Length + 1)..]);
        line[^1] = (byte)'\n';
    }

    public void WriteNumber(ReadOnlySpan<byte> name, ulong value)
    {
        Span<byte> line = Reserve(name.Length + 1 + 20 + 1);
        name.CopyTo(line);
        line[name.Length] = (byte)'=';
        Utf8Formatter.TryFormat(value, line[(name.Length + 1)..], out int digits);
        int used = name.Length + 1 + digits;
        line[used] = (byte)'\n';
        _length -= line.Length - used - 1;
    }

    /// <summary>endpoint=1.2.3.4:51820 or endpoint=[v6]:51820.</summary>
    public void WriteEndpoint(in Endpoint endpoint) => WriteText("endpoint"u8, endpoint.ToString());

    /// <summary>allowed_ip=address/cidr (the prefix is printed as stored).</summary>
    public void WriteAllowedIp(UapiAllowedIp allowedIp)
    {
        const int MaxLine = 11 + 45 + 4 + 1;
        Span<byte> line = Reserve(MaxLine);
        "allowed_ip="u8.CopyTo(line);
        int used = 11;
        if (allowedIp.IsIPv6)
        {
            allowedIp.ToIPAddress().TryFormat(line[used..], out int written);
            used += written;
        }
        else
        {
            uint bits = (uint)allowedIp.Bits;
            for (int shift = 24; shift >= 0; shift -= 8)
            {
                Utf8Formatter.TryFormat((byte)(bits >> shift), line[used..], out int written);
                used += written;
                if (shift != 0)
                    line[used++] = (byte)'.';
            }
        }
        line[used++] = (byte)'/';
        Utf8Formatter.TryFormat(allowedIp.Cidr, line[used..], out int cidrDigits);
        used += cidrDigits;
        line[used++] = (byte)'\n';
        _length -= MaxLine - used;
    }

    /// <summary>A free-form line (no secrets: the string stays on the heap).</summary>
    public void WriteText(ReadOnlySpan<byte> name, string value)
    {
        int valueBytes = Encoding.UTF8.GetByteCount(value);
        Span<byte> line = Reserve(name.Length + 1 + valueBytes + 1);
        name.CopyTo(line);
        line[name.Length] = (byte)'=';
        Encoding.UTF8.GetBytes(value, line[(name.Length + 1)..]);
        line[^1] = (byte)'\n';
    }

    /// <summary>Appends raw bytes (the server's errno trailer).</summary>
    internal void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    /// <summary>Wipes what was written and starts over.</summary>
    internal void Clear()
    {
        CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, _length));
        _length = 0;
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            byte[] larger = new byte[Math.Max(_buffer.Length * 2, _length + count)];
            _buffer.AsSpan(0, _length).CopyTo(larger);
            CryptographicOperations.ZeroMemory(_buffer);
            _buffer = larger;
        }
        Span<byte> span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}
