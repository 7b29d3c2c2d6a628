using System.Buffers.Binary;
using Router.Tunnel.IO;
using Router.Crypto;

namespace Router.Linux.Uapi;

/// <summary>
/// Parses the lines of a <c>set=1</c> request (https://www.wireguard.com/xplatform/) into a <see cref="UapiSetRequest"/>,
/// one line at a time as they arrive, straight from the UTF-8 bytes (secrets never become strings).
/// Keys before the first <c>public_key</c> are device keys; after it, peer keys. Errors follow wireguard-go's
/// device/uapi.go: a line without '=' is -EPROTO; an unknown key or a malformed value is -EINVAL. The first error
/// sticks and later lines are ignored, so the caller can drain the request up to its blank line and answer.
/// </summary>
public sealed class UapiParser
{
    private readonly UapiSetRequest _request = new();
    private UapiPeerConfig? _peer;

    /// <summary>0, or the negative errno of the first bad line.</summary>
    public int Error { get; private set; }

    /// <summary>The first bad line's problem, for the log (never contains a value).</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>Parses one line, without its '\n'. Returns <see cref="Error"/>.</summary>
    public int ParseLine(ReadOnlySpan<byte> line)
    {
        if (Error != 0)
            return Error;
        int equals = line.IndexOf((byte)'=');
        if (equals < 0)
            return Fail(UapiErrno.Protocol, "line without '='");
        ReadOnlySpan<byte> key = line[..equals];
        ReadOnlySpan<byte> value = line[(equals + 1)..];

        if (key.SequenceEqual("public_key"u8))
        {
            var peer = new UapiPeerConfig();
            if (!UapiHex.TryParseKey(value, out peer.PublicKey))
                return Fail(UapiErrno.Invalid, "bad public_key");
            _request.Peers.Add(peer);
            _peer = peer;
            return 0;
        }
        return _peer is null ? DeviceLine(key, value) : PeerLine(_peer, key, value);
    }

    /// <summary>The parsed request; call once, after the blank line, when <see cref="Error"/> is 0.</summary>
    public UapiSetRequest Finish()
    {
        if (Error != 0)
            throw new InvalidOperationException("The request is invalid.");
        return _request;
    }

    /// <summary>Wipes whatever secrets were parsed (after an error, or when the request is abandoned).</summary>
    public void Abandon() => _request.Dispose();

    /// <summary>Parses a whole body (lines separated by '\n'; a blank line or the end terminates). For tests and tools.</summary>
    public static int Parse(ReadOnlySpan<byte> body, out UapiSetRequest? request)
    {
        var parser = new UapiParser();
        while (!body.IsEmpty)
        {
            int newline = body.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = newline < 0 ? body : body[..newline];
            body = newline < 0 ? default : body[(newline + 1)..];
            if (line.IsEmpty)
                break;
            parser.ParseLine(line);
        }
        if (parser.Error != 0)
        {
            parser.Abandon();
            request = null;
            return parser.Error;
        }
        request = parser.Finish();
        return 0;
    }

    private int DeviceLine(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (key.SequenceEqual("private_key"u8))
        {
            if (!UapiHex.TryParseKey(value, out _request.PrivateKey))
                return Fail(UapiErrno.Invalid, "bad private_key");
            _request.HasPrivateKey = true;
        }
        else if (key.SequenceEqual("listen_port"u8))
        {
            if (!TryParseUnsigned(value, ushort.MaxValue, out ulong port))
                return Fail(UapiErrno.Invalid, "bad listen_port");
            _request.ListenPort = (ushort)port;
        }
        else if (key.SequenceEqual("fwmark"u8))
        {
            if (!TryParseUnsigned(value, uint.MaxValue, out ulong mark))
                return Fail(UapiErrno.Invalid, "bad fwmark");
            _request.Fwmark = (uint)mark;
        }
        else if (key.SequenceEqual("replace_peers"u8))
        {
            if (!value.SequenceEqual("true"u8))
                return Fail(UapiErrno.Invalid, "replace_peers is not true");
            _request.ReplacePeers = true;
        }
        else
        {
            return Fail(UapiErrno.Invalid, "unknown device key");
        }
        return 0;
    }

    private int PeerLine(UapiPeerConfig peer, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (key.SequenceEqual("allowed_ip"u8)) // first: by far the most frequent line
        {
            bool remove = !value.IsEmpty && value[0] == (byte)'-';
            if (!TryParsePrefix(remove ? value[1..] : value, remove, out UapiAllowedIp prefix))
                return Fail(UapiErrno.Invalid, "bad allowed_ip");
            peer.AllowedIps.Add(prefix);
        }
        else if (key.SequenceEqual("endpoint"u8))
        {
            if (!TryParseEndpoint(value, out Endpoint endpoint))
                return Fail(UapiErrno.Invalid, "bad endpoint");
            peer.Endpoint = endpoint;
        }
        else if (key.SequenceEqual("preshared_key"u8))
        {
            if (!UapiHex.TryParseKey(value, out peer.PresharedKey))
                return Fail(UapiErrno.Invalid, "bad preshared_key");
            peer.HasPresharedKey = true;
        }
        else if (key.SequenceEqual("persistent_keepalive_interval"u8))
        {
            if (!TryParseUnsigned(value, ushort.MaxValue, out ulong seconds))
                return Fail(UapiErrno.Invalid, "bad persistent_keepalive_interval");
            peer.PersistentKeepaliveInterval = (ushort)seconds;
        }
        else if (key.SequenceEqual("replace_allowed_ips"u8))
        {
            if (!value.SequenceEqual("true"u8))
                return Fail(UapiErrno.Invalid, "replace_allowed_ips is not true");
            // Applied in order: whatever this section added before is replaced too.
            peer.AllowedIps.Clear();
            peer.ReplaceAllowedIps = true;
        }
        else if (key.SequenceEqual("remove"u8))
        {
            if (!value.SequenceEqual("true"u8))
                return Fail(UapiErrno.Invalid, "remove is not true");
            peer.Remove = true;
        }
        else if (key.SequenceEqual("update_only"u8))
        {
            if (!value.SequenceEqual("true"u8))
                return Fail(UapiErrno.Invalid, "update_only is not true");
            peer.UpdateOnly = true;
        }
        else if (key.SequenceEqual("protocol_version"u8))
        {
            if (!value.SequenceEqual("1"u8))
                return Fail(UapiErrno.Invalid, "unsupported protocol_version");
            peer.ProtocolVersion = 1;
        }
        else
        {
            return Fail(UapiErrno.Invalid, "unknown peer key");
        }
        return 0;
    }

    private int Fail(int errno, string message)
    {
        Error = errno;
        ErrorMessage = message;
        return errno;
    }

    /// <summary>Decimal digits only, no sign, at most <paramref name="max"/> (Go's strconv.ParseUint base 10).</summary>
    internal static bool TryParseUnsigned(ReadOnlySpan<byte> text, ulong max, out ulong value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 20)
            return false;
        foreach (byte c in text)
        {
            uint digit = (uint)(c - '0');
            if (digit > 9)
                return false;
            if (value > (max - digit) / 10)
                return false;
            value = value * 10 + digit;
        }
        return true;
    }

    /// <summary>Address/cidr; host bits may be set (as netip.ParsePrefix allows). No zones.</summary>
    internal static bool TryParsePrefix(ReadOnlySpan<byte> text, bool remove, out UapiAllowedIp prefix)
    {
        prefix = default;
        int slash = text.IndexOf((byte)'/');
        if (slash < 0)
            return false;
        ReadOnlySpan<byte> bitsText = text[(slash + 1)..];
        // No leading zeros or signs in the length, as Go 1.22+ netip.ParsePrefix insists.
        if (bitsText.Length > 1 && bitsText[0] == (byte)'0')
            return false;
        if (!TryParseUnsigned(bitsText, 128, out ulong bits))
            return false;
        if (!TryParseAddress(text[..slash], out UInt128 address, out bool isIPv6))
            return false;
        if (bits > (isIPv6 ? 128UL : 32UL))
            return false;
        prefix = new UapiAllowedIp(address, isIPv6, (byte)bits, remove);
        return true;
    }

    /// <summary>1.2.3.4:port or [v6]:port, numeric only (wg(8) resolves names before it sends). Zones are refused.</summary>
    internal static bool TryParseEndpoint(ReadOnlySpan<byte> text, out Endpoint endpoint)
    {
        endpoint = default;
        int colon = text.LastIndexOf((byte)':');
        if (colon < 0)
            return false;
        ReadOnlySpan<byte> host = text[..colon];
        if (!TryParseUnsigned(text[(colon + 1)..], ushort.MaxValue, out ulong port))
            return false;
        bool bracketed = host.Length >= 2 && host[0] == (byte)'[' && host[^1] == (byte)']';
        if (bracketed)
            host = host[1..^1];
        if (!TryParseAddress(host, out UInt128 address, out bool isIPv6) || isIPv6 != bracketed)
            return false;
        Span<byte> bytes = stackalloc byte[16];
        if (isIPv6)
            BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        else
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)address);
        endpoint = Endpoint.FromBytes(bytes[..(isIPv6 ? 16 : 4)], (ushort)port);
        return true;
    }

    /// <summary>Strict dotted-quad IPv4 (no leading zeros), or IPv6 text without a zone; host-order bits.</summary>
    internal static bool TryParseAddress(ReadOnlySpan<byte> text, out UInt128 address, out bool isIPv6)
    {
        isIPv6 = text.Contains((byte)':');
        if (isIPv6)
            return TryParseIPv6(text, out address);
        bool ok = TryParseIPv4(text, out uint v4);
        address = v4;
        return ok;
    }

    /// <summary>
    /// RFC 4291 section 2.2 text: eight groups of 1-4 hex digits, at most one "::" standing for one or more zero groups,
    /// optionally ending in a dotted quad. Written out (rather than IPAddress.TryParse) so that 130,000 lines parse
    /// without an allocation each.
    /// </summary>
    internal static bool TryParseIPv6(ReadOnlySpan<byte> text, out UInt128 address)
    {
        address = 0;
        Span<ushort> groups = stackalloc ushort[8];
        int count = 0, ellipsis = -1, i = 0;
        if (text.Length < 2)
            return false;
        if (text[0] == (byte)':')
        {
            if (text[1] != (byte)':')
                return false;
            ellipsis = 0;
            i = 2;
        }
        while (i < text.Length)
        {
            if (count == 8)
                return false;
            int end = i;
            uint group = 0;
            while (end < text.Length && end - i < 5 && HexDigit(text[end]) is int digit and >= 0)
            {
                group = (group << 4) | (uint)digit;
                end++;
            }
            if (end < text.Length && text[end] == (byte)'.')
            {
                // A dotted quad supplies the last two groups.
                if (count > 6 || !TryParseIPv4(text[i..], out uint v4))
                    return false;
                groups[count++] = (ushort)(v4 >> 16);
                groups[count++] = (ushort)v4;
                i = text.Length;
                break;
            }
            if (end == i || end - i > 4)
                return false;
            groups[count++] = (ushort)group;
            i = end;
            if (i == text.Length)
                break;
            if (text[i] != (byte)':')
                return false;
            i++;
            if (i < text.Length && text[i] == (byte)':')
            {
                if (ellipsis >= 0)
                    return false;
                ellipsis = count;
                i++;
            }
            else if (i == text.Length)
            {
                return false; // a single trailing ':'
            }
        }
        if (ellipsis < 0 ? count != 8 : count == 8)
            return false; // "::" must stand for at least one group
        if (ellipsis >= 0)
        {
            int moved = count - ellipsis;
            for (int k = 0; k < moved; k++)
                groups[7 - k] = groups[count - 1 - k];
            groups[ellipsis..(8 - moved)].Clear();
        }
        UInt128 result = 0;
        foreach (ushort g in groups)
            result = (result << 16) | g;
        address = result;
        return true;
    }

    private static int HexDigit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    private static bool TryParseIPv4(ReadOnlySpan<byte> text, out uint address)
    {
        address = 0;
        uint result = 0;
        for (int part = 0; part < 4; part++)
        {
            int end = part < 3 ? text.IndexOf((byte)'.') : text.Length;
            if (end <= 0 || end > 3 || (end > 1 && text[0] == (byte)'0'))
                return false;
            if (!TryParseUnsigned(text[..end], 255, out ulong octet))
                return false;
            result = (result << 8) | (uint)octet;
            text = part < 3 ? text[(end + 1)..] : default;
        }
        address = result;
        return true;
    }
}
