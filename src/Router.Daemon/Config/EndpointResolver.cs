using System.Net;
using System.Net.Sockets;

namespace Router.Daemon.Config;

/// <summary>
/// Host-name endpoints, resolved at start and again while the peer is silent: stock WireGuard resolves once, so a
/// branch whose head office changes address stays cut off until restarted. The policy follows wireguard-tools'
/// reresolve-dns.sh: look the name up again when the last handshake is older than 135 s (a healthy session
/// re-handshakes every 120 s), at most every 30 s so a dead DNS server is not hammered.
/// </summary>
internal static class EndpointResolver
{
    public static readonly TimeSpan StaleHandshake = TimeSpan.FromSeconds(135);
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(30);

    /// <summary>Whether to look a host-name endpoint up again now. Literal addresses never need it.</summary>
    public static bool IsDue(EndpointSpec endpoint, DateTimeOffset? lastHandshake, DateTimeOffset? lastResolved, DateTimeOffset now)
    {
        if (!endpoint.IsHostName)
            return false;
        if (lastResolved is null)
            return true;
        if (now - lastResolved.Value < MinimumInterval)
            return false;
        return lastHandshake is null || now - lastHandshake.Value > StaleHandshake;
    }

    /// <summary>The address to send to: the literal, or the first address the resolver returns (as wg takes getaddrinfo's first); null if the name does not resolve.</summary>
    public static async Task<IPEndPoint?> ResolveAsync(EndpointSpec endpoint, CancellationToken cancel)
    {
        if (endpoint.Address is IPAddress literal)
            return new IPEndPoint(literal, endpoint.Port);
        try
        {
            IPAddress[] addresses = await Dns.GetHostAddressesAsync(endpoint.Host, cancel);
            return addresses.Length == 0 ? null : new IPEndPoint(addresses[0], endpoint.Port);
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
