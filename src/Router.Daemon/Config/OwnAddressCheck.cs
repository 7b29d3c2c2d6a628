using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Router.Daemon.Config;

/// <summary>An address this machine holds on a non-tunnel interface (the branch LAN, the uplink).</summary>
internal readonly record struct HostAddress(string Interface, IPAddress Address, int PrefixLength);

/// <summary>
/// Warnings for a peer whose allowed IPs cover the gateway itself, a valid file that cuts a site off:
/// <list type="bullet">
/// <item>its own tunnel address, by a prefix narrower than the tunnel's subnet (typically the gateway's own /32
/// pasted as the peer's: routes and replies for it then belong to the peer). A prefix as wide as the subnet or wider
/// (a spoke sending the whole tunnel network to its hub) is normal and not warned about.</item>
/// <item>its LAN: a prefix as specific as a LAN's connected route or more (so the tunnel route wins or ties) that
/// contains one of the machine's own addresses on another interface: LAN hosts, and the SSH session from them, would
/// be routed into the tunnel. /0 is not warned about: routerd installs no default route for it.</item>
/// </list>
/// The LAN side is only known on the machine itself, so 'routerd check' reads the addresses where it runs.
/// </summary>
internal static class OwnAddressCheck
{
    public static List<ConfigProblem> Find(RouterConfig config, IReadOnlyList<HostAddress> host)
    {
        var problems = new List<ConfigProblem>();
        var tunnels = config.Interfaces.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var iface in config.Interfaces)
        {
            for (int p = 0; p < iface.Peers.Count; p++)
            {
                var peer = iface.Peers[p];
                string path = $"interfaces.{iface.Name}.peers[{p}].allowedIps";
                foreach (var prefix in peer.AllowedIps)
                {
                    for (int a = 0; a < iface.Addresses.Count; a++)
                    {
                        var own = iface.Addresses[a];
                        if (prefix.Contains(own.Address) && prefix.PrefixLength > own.PrefixLength)
                            problems.Add(ConfigProblem.Warning(path, $"{prefix} covers this gateway's own tunnel address {own.Address} (interfaces.{iface.Name}.addresses[{a}]); " +
                                $"expected the addresses of peer '{peer.Name}', e.g. its own /{(own.Address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)}"));
                    }
                    foreach (var lan in host)
                    {
                        if (tunnels.Contains(lan.Interface) || prefix.PrefixLength == 0 || !prefix.Contains(lan.Address) || prefix.PrefixLength < lan.PrefixLength)
                            continue;
                        problems.Add(ConfigProblem.Warning(path, $"{prefix} covers {lan.Address}/{lan.PrefixLength}, this machine's own address on {lan.Interface}: " +
                            $"traffic to it would be routed into the tunnel to peer '{peer.Name}', cutting that network (and an SSH session from it) off; expected the far site's prefixes"));
                    }
                }
            }
        }
        return problems;
    }

    /// <summary>This network namespace's addresses outside loopback and link-local, from the kernel.</summary>
    public static List<HostAddress> Current()
    {
        var list = new List<HostAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
                    continue;
                foreach (var u in nic.GetIPProperties().UnicastAddresses)
                {
                    if (IPAddress.IsLoopback(u.Address) || u.Address.IsIPv6LinkLocal || IsIPv4LinkLocal(u.Address))
                        continue;
                    list.Add(new HostAddress(nic.Name, u.Address, u.PrefixLength));
                }
            }
        }
        catch (NetworkInformationException)
        {
            // Without the list there is nothing to compare: the check simply says less.
        }
        return list;
    }

    private static bool IsIPv4LinkLocal(IPAddress a)
        => a.AddressFamily == AddressFamily.InterNetwork && a.GetAddressBytes() is [169, 254, ..];
}
