using System.Net;
using System.Net.Sockets;

namespace Router.Daemon.Config;

/// <summary>An address assigned to an interface with its prefix length, e.g. 10.10.0.1/24 (host bits are the point).</summary>
internal readonly record struct InterfaceAddress(IPAddress Address, int PrefixLength)
{
    public IPNetwork Network => new(IpText.Mask(Address, PrefixLength), PrefixLength);

    public override string ToString() => $"{Address}/{PrefixLength}";
}

/// <summary>
/// Strict parsing of the address forms the configuration accepts. IPAddress.TryParse alone also takes inet_aton
/// oddities ("10.1" is 10.0.0.1) and scope ids, which in a router configuration are typos, not intent.
/// </summary>
internal static class IpText
{
    /// <summary>Parses "A.B.C.D", "A.B.C.D/N", "v6" or "v6/N"; a bare address means a single host (/32 or /128).</summary>
    public static bool TryParsePrefix(string text, out IPAddress address, out int prefixLength)
    {
        address = IPAddress.None;
        prefixLength = 0;
        int slash = text.IndexOf('/');
        string addressText = slash < 0 ? text : text[..slash];
        if (!TryParseAddress(addressText, out address))
            return false;
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (slash < 0)
        {
            prefixLength = max;
            return true;
        }
        string lengthText = text[(slash + 1)..];
        return lengthText.Length is > 0 and <= 3 && lengthText.All(char.IsAsciiDigit)
               && int.TryParse(lengthText, out prefixLength) && prefixLength <= max;
    }

    /// <summary>Parses a literal IPv4 (four dotted decimals) or IPv6 address without a zone.</summary>
    public static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Length == 0 || text.Contains('%'))
            return false;
        if (text.Contains(':'))
            return IPAddress.TryParse(text, out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        string[] parts = text.Split('.');
        if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit)))
            return false;
        return IPAddress.TryParse(text, out address!);
    }

    /// <summary>The address with every bit past the prefix cleared: the network an allowed-IPs entry means.</summary>
    public static IPAddress Mask(IPAddress address, int prefixLength)
    {
        byte[] bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefixLength - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
