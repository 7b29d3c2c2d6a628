using System.Net;
using Router.Daemon.Config;

namespace Router.Daemon.Firmware;

/// <summary>
/// What the kernel should hold for one interface: its addresses, and a route per peer allowed IP that no address
/// prefix already covers (the address brings its own prefix route) and that is not a default route (that would also
/// carry the tunnel's own UDP packets). The runner installs the difference between two plans, so what stays the same
/// is never touched (no flap) and only what routerd installed is ever removed.
/// </summary>
internal sealed record LinkPlan(IReadOnlySet<InterfaceAddress> Addresses, IReadOnlySet<IPNetwork> Routes)
{
    public static readonly LinkPlan Empty = new(new HashSet<InterfaceAddress>(), new HashSet<IPNetwork>());

    public static LinkPlan For(InterfaceConfig config)
    {
        var addresses = new HashSet<InterfaceAddress>(config.Addresses);
        var routes = new HashSet<IPNetwork>();
        foreach (var p in config.Peers)
        {
            foreach (var net in p.AllowedIps)
            {
                if (net.PrefixLength == 0)
                    continue;
                if (config.Addresses.Any(a => a.Network.PrefixLength <= net.PrefixLength && a.Network.Contains(net.BaseAddress)))
                    continue;
                routes.Add(net);
            }
        }
        return new LinkPlan(addresses, routes);
    }

    /// <summary>Default routes among the allowed IPs: not installed, and said so once per appearance.</summary>
    public static IEnumerable<IPNetwork> DefaultRoutes(InterfaceConfig config)
        => config.Peers.SelectMany(p => p.AllowedIps).Where(n => n.PrefixLength == 0).Distinct();
}
