using System.Net;

namespace Router.Daemon.Config;

/// <summary>
/// A peer's endpoint as written: "host:port", "[v6]:port" or "name:port". A name is kept as a name so the daemon can
/// re-resolve it while the peer has no recent handshake (a branch behind a dynamic address).
/// </summary>
internal sealed record EndpointSpec(string Host, int Port, IPAddress? Address)
{
    public bool IsHostName => Address is null;

    /// <summary>Parses the forms wg accepts. Errors say what was expected.</summary>
    public static bool TryParse(string text, out EndpointSpec? endpoint, out string? error)
    {
        endpoint = null;
        error = null;
        string host;
        string portText;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = "expected [IPv6]:port, e.g. [2001:db8::1]:51820";
                return false;
            }
            host = text[1..close];
            portText = text[(close + 2)..];
            if (!IpText.TryParseAddress(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"'{host}' in brackets is not an IPv6 address";
                return false;
            }
        }
        else
        {
            int colon = text.LastIndexOf(':');
            if (colon <= 0)
            {
                error = "expected host:port, e.g. hq.example.net:51820 or 192.0.2.1:51820";
                return false;
            }
            host = text[..colon];
            portText = text[(colon + 1)..];
            if (host.Contains(':'))
            {
                error = "an IPv6 endpoint needs brackets: [2001:db8::1]:51820";
                return false;
            }
        }
        if (portText.Length is 0 or > 5 || !portText.All(char.IsAsciiDigit) || int.Parse(portText) is < 1 or > 65535)
        {
            error = $"port '{portText}' is not a number from 1 to 65535";
            return false;
        }
        int port = int.Parse(portText);
        if (IpText.TryParseAddress(host, out var address))
        {
            endpoint = new EndpointSpec(host, port, address);
            return true;
        }
        if (!IsValidHostName(host))
        {
            error = $"'{host}' is neither an IP address nor a valid host name";
            return false;
        }
        endpoint = new EndpointSpec(host, port, null);
        return true;
    }

    // RFC 1123 host names: labels of letters, digits and hyphens, not starting or ending with a hyphen.
    private static bool IsValidHostName(string host)
    {
        if (host.Length is 0 or > 253)
            return false;
        string[] labels = host.TrimEnd('.').Split('.');
        // All-numeric dotted names are mistyped addresses (999.1.1.1), not names.
        if (labels.All(l => l.All(char.IsAsciiDigit)))
            return false;
        return labels.All(l => l.Length is > 0 and <= 63 && l[0] != '-' && l[^1] != '-'
                               && l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }

    public override string ToString() => Address?.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
