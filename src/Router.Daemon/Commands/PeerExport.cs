using System.Net.Sockets;
using System.Text;
using Router.Crypto;
using Router.Daemon.Config;

namespace Router.Daemon.Commands;

/// <summary>What the admin may add to an export: the gateway's public address and what the far side routes to it.</summary>
/// <param name="Endpoint">This gateway as the far side reaches it (host:port); the gateway cannot know its public address.</param>
/// <param name="AllowedIps">What the far side sends into the tunnel; default: this interface's tunnel prefixes.</param>
/// <param name="PersistentKeepalive">For a far side behind NAT (a phone): seconds between keepalives.</param>
/// <param name="FarPrivateKey">The far side's own private key, if the admin made it here (for a phone's QR code).</param>
internal sealed record ExportOptions(EndpointSpec? Endpoint, IReadOnlyList<string>? AllowedIps, int? PersistentKeepalive, SecretKey? FarPrivateKey);

/// <summary>
/// <c>routerd peer export NAME</c>: the wg-quick file for the far side of one peer. It never holds a secret this
/// gateway keeps: not its private key, not the pre-shared key (a placeholder names the file to copy it from). The far
/// side's own private key is a placeholder too, unless the admin generated it here and passes --private-key-file.
/// </summary>
internal static class PeerExport
{
    /// <summary>What stands where the far side's private key goes; wg(8) refuses it, so a forgotten edit is loud.</summary>
    public const string PrivateKeyPlaceholder = "<this device's private key: wg genkey>";

    public static string Render(InterfaceConfig iface, PeerConfig peer, ExportOptions options)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(peer.Name).Append(": the far end of ").Append(iface.Name)
          .AppendLine(" on this gateway (routerd peer export); for wg-quick(8), e.g. /etc/wireguard/wg0.conf");
        sb.AppendLine("[Interface]");
        // The far side's key, which the admin asked to hand over (a phone's QR code): the one secret that may become text here.
        if (options.FarPrivateKey is { } key)
            sb.Append("PrivateKey = ").AppendLine(Convert.ToBase64String(key.Bytes));
        else
            sb.Append("PrivateKey = ").AppendLine(PrivateKeyPlaceholder);
        var addresses = Addresses(iface, peer);
        if (addresses.Count > 0)
            sb.Append("Address = ").AppendLine(string.Join(", ", addresses));
        else
            sb.AppendLine("# Address = (none of this peer's allowed IPs is a single address: give the far side its tunnel address)");
        sb.Append("MTU = ").AppendLine(iface.Mtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
        sb.AppendLine();
        sb.AppendLine("[Peer]");
        sb.Append("PublicKey = ").AppendLine(OwnPublicKey(iface).ToString());
        if (peer.PresharedKeyFile is not null)
            sb.Append("# PresharedKey = (copy the key from ").Append(peer.PresharedKeyFile).AppendLine(" on the gateway)");
        if (options.Endpoint is not null)
            sb.Append("Endpoint = ").AppendLine(options.Endpoint.ToString());
        else
            sb.Append("# Endpoint = GATEWAY-ADDRESS:").Append(iface.ListenPort?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "PORT")
              .AppendLine(" (routerd peer export --endpoint fills it in)");
        var allowed = options.AllowedIps ?? TunnelPrefixes(iface);
        if (allowed.Count > 0)
            sb.Append("AllowedIPs = ").AppendLine(string.Join(", ", allowed));
        else
            sb.AppendLine("# AllowedIPs = (this interface has no addresses: routerd peer export --allowed-ips fills it in)");
        if (options.PersistentKeepalive is int keepalive and > 0)
            sb.Append("PersistentKeepalive = ").AppendLine(keepalive.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    public static PublicKey OwnPublicKey(InterfaceConfig iface)
    {
        Span<byte> pub = stackalloc byte[PublicKey.Size];
        X25519.DerivePublicKey(iface.PrivateKey.Bytes, pub);
        return new PublicKey(pub);
    }

    /// <summary>
    /// The far side's tunnel address: the peer's single-address allowed IPs, those inside this interface's own
    /// prefixes first (10.10.0.2/32 in 10.10.0.0/24). A peer routed a whole subnet (a site's LAN) has no obvious one.
    /// </summary>
    private static List<string> Addresses(InterfaceConfig iface, PeerConfig peer)
    {
        var hosts = peer.AllowedIps.Where(n => n.PrefixLength == (n.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)).ToList();
        var inside = hosts.Where(h => iface.Addresses.Any(a => a.Network.Contains(h.BaseAddress))).ToList();
        return (inside.Count > 0 ? inside : hosts).Select(h => h.ToString()).ToList();
    }

    /// <summary>This interface's own prefixes (10.10.0.1/24 gives 10.10.0.0/24): what the far side routes here by default.</summary>
    private static List<string> TunnelPrefixes(InterfaceConfig iface)
        => iface.Addresses.Select(a => a.Network.ToString()).Distinct().ToList();
}
