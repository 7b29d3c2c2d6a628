using System.Globalization;
using System.Net;
using Router.Daemon.Config;

namespace Router.Daemon.Apply;

/// <summary>The two ends of the SSH session 'routerd apply' runs in, from $SSH_CONNECTION ("CLIENT CPORT SERVER SPORT").</summary>
internal readonly record struct SshSession(IPAddress Client, IPAddress Server)
{
    /// <summary>Null when the variable is absent or not four fields with two addresses (then nothing is checked).</summary>
    public static SshSession? Parse(string? sshConnection)
    {
        if (string.IsNullOrWhiteSpace(sshConnection))
            return null;
        string[] f = sshConnection.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length != 4 || Address(f[0]) is not { } client || Address(f[2]) is not { } server)
            return null;
        return new SshSession(client, server);
    }

    /// <summary>How the client sends it to the daemon: "ssh=CLIENT,SERVER" (no spaces, one word of the request line).</summary>
    public string Word => $"ssh={Client},{Server}";

    public static SshSession? FromWord(string word)
    {
        if (!word.StartsWith("ssh=", StringComparison.Ordinal))
            return null;
        string[] f = word[4..].Split(',');
        return f.Length == 2 && Address(f[0]) is { } c && Address(f[1]) is { } s ? new SshSession(c, s) : null;
    }

    private static IPAddress? Address(string text)
    {
        int scope = text.IndexOf('%');
        if (scope >= 0)
            text = text[..scope]; // fe80::1%eth0: the scope says which link, not which address
        if (!IPAddress.TryParse(text, out var a))
            return null;
        return a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
    }

    public override string ToString() => $"from {Client} to {Server}";
}

/// <summary>
/// Whether a new configuration removes the path an SSH session uses, so that the operator cannot reach the gateway
/// to confirm or undo the change. Precisely (docs/RUNNING.md, "apply over SSH"): the session uses a tunnel of the
/// running configuration when its server address is an address of one of the interfaces, or its client address is
/// inside a peer's allowed IPs (the longest prefix over all interfaces wins, as the routes routerd installs do; a
/// 0.0.0.0/0 or ::/0 entry counts for nothing, routerd installs no default route). The
/// new configuration cuts it when it no longer has the server address on any interface, or when the client address
/// is no longer routed through the same interface and the same peer (same public key), or when that interface's
/// private key or listen port, or that peer's endpoint or pre-shared key, changes (the far side then drops or
/// misses the session until it is changed too). A session that uses no tunnel of the configuration (SSH over the LAN
/// or WAN) is never cut by it. Pure: it reads two configurations.
/// </summary>
internal static class SshPath
{
    /// <summary>Why <paramref name="after"/> cuts <paramref name="session"/>; null when it keeps its path.</summary>
    public static string? Cut(SshSession session, RouterConfig? before, RouterConfig after)
    {
        if (before is null)
            return null; // nothing ran before: the session cannot have used it
        var onAddress = before.Interfaces.FirstOrDefault(i => i.Addresses.Any(a => a.Address.Equals(session.Server)));
        if (onAddress is not null && !after.Interfaces.Any(i => i.Addresses.Any(a => a.Address.Equals(session.Server))))
            return after.Interface(onAddress.Name) is null
                ? $"interfaces.{onAddress.Name}, which holds {session.Server} (the address this SSH session connected to), is removed"
                : $"interfaces.{onAddress.Name}.addresses no longer holds {session.Server} (the address this SSH session connected to)";

        if (Route(before, session.Client) is not { } route)
            return null;
        var (iface, peer) = route;
        var newIface = after.Interface(iface.Name);
        if (newIface is null)
            return $"interfaces.{iface.Name}, which carries this SSH session ({session.Client} through peer {peer.Name}), is removed";
        if (!iface.PrivateKey.ContentEquals(newIface.PrivateKey))
            return $"interfaces.{iface.Name}.privateKey changes: peer {peer.Name}, which carries this SSH session, drops it until it has the new public key";
        if (iface.ListenPort != newIface.ListenPort)
            return $"interfaces.{iface.Name}.listenPort changes: peer {peer.Name}, which carries this SSH session, may still send to the old port";
        var now = Route(after, session.Client);
        if (now is null)
            return $"{session.Client} (this SSH session's client) is in no peer's allowedIps any more (it was in interfaces.{iface.Name}'s peer {peer.Name})";
        var (nowIface, newPeer) = now.Value;
        if (nowIface.Name != iface.Name || newPeer.PublicKey != peer.PublicKey)
            return $"{session.Client} (this SSH session's client) would go through interfaces.{nowIface.Name}'s peer {newPeer.Name} instead of interfaces.{iface.Name}'s peer {peer.Name}";
        if (peer.Endpoint != newPeer.Endpoint)
            return $"the endpoint of peer {peer.Name}, which carries this SSH session, changes ({peer.Endpoint?.ToString() ?? "(none)"} -> {newPeer.Endpoint?.ToString() ?? "(none)"})";
        bool pskSame = (peer.PresharedKey is null && newPeer.PresharedKey is null) || (peer.PresharedKey?.ContentEquals(newPeer.PresharedKey) ?? false);
        if (!pskSame)
            return $"the presharedKey of peer {peer.Name}, which carries this SSH session, changes: the far side must change it too";
        return null;
    }

    /// <summary>The interface and peer whose allowed IPs hold <paramref name="address"/> with the longest prefix.</summary>
    private static (InterfaceConfig Interface, PeerConfig Peer)? Route(RouterConfig config, IPAddress address)
    {
        (InterfaceConfig, PeerConfig)? best = null;
        int bestLength = -1;
        foreach (var i in config.Interfaces)
        {
            foreach (var p in i.Peers)
            {
                foreach (var net in p.AllowedIps)
                {
                    // A default route among the allowed IPs is not installed (LinkPlan): traffic takes it only by a
                    // route routerd does not manage, so it does not count as the session's path.
                    if (net.PrefixLength > 0 && net.BaseAddress.AddressFamily == address.AddressFamily && net.PrefixLength > bestLength && net.Contains(address))
                    {
                        best = (i, p);
                        bestLength = net.PrefixLength;
                    }
                }
            }
        }
        return best;
    }

    /// <summary>The confirm window an apply over SSH gets when it cuts the session and no --confirm/--no-confirm was given.</summary>
    public static readonly TimeSpan DefaultConfirmWindow = TimeSpan.FromSeconds(120);

    public static string Seconds(TimeSpan t) => ((int)t.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}
