using System.Collections.Concurrent;
using System.ComponentModel;
using System.Net;

namespace Router.Linux.Tests;

public sealed class RtnetlinkTests
{
    [RootFact]
    public void Addresses_routes_mtu_and_link_state_are_set_without_shelling_out()
    {
        using var ns = Netns.Create("rtnl");
        ns.Ip("link add rdum0 type veth peer name rdum1");
        using Rtnetlink rtnl = ns.Run(() => new Rtnetlink());
        int index = ns.Run(() => Rtnetlink.IndexOf("rdum0"));

        rtnl.SetMtu(index, 1380);
        rtnl.SetUp(index, true);
        var (mtu, flags) = rtnl.GetLink(index);
        Assert.Equal(1380, mtu);
        Assert.NotEqual(0u, flags & 1);

        rtnl.AddAddress(index, IPAddress.Parse("10.66.0.1"), 24);
        rtnl.AddAddress(index, IPAddress.Parse("fd66::1"), 64);
        rtnl.AddRoute(index, IPAddress.Parse("10.67.0.0"), 16);
        rtnl.AddRoute(index, IPAddress.Parse("fd67::"), 48);
        Assert.Contains("10.66.0.1/24", ns.Ip("addr show rdum0"));
        Assert.Contains("fd66::1/64", ns.Ip("addr show rdum0"));
        Assert.Contains("10.67.0.0/16 dev rdum0", ns.Ip("route show"));
        Assert.Contains("fd67::/48 dev rdum0", ns.Ip("-6 route show"));

        // Errors carry the kernel's errno.
        var duplicate = Assert.Throws<Win32Exception>(() => rtnl.AddAddress(index, IPAddress.Parse("10.66.0.1"), 24));
        Assert.Equal(17, duplicate.NativeErrorCode); // EEXIST
        Assert.Throws<Win32Exception>(() => rtnl.SetMtu(999_999, 1400));

        // Deletes remove exactly what was added; a route to the same prefix from someone else (another protocol) stays.
        ns.Ip("route add 10.68.0.0/16 dev rdum0 proto static");
        rtnl.AddRoute(index, IPAddress.Parse("10.69.0.0"), 16);
        rtnl.DeleteRoute(index, IPAddress.Parse("10.67.0.0"), 16);
        rtnl.DeleteRoute(index, IPAddress.Parse("fd67::"), 48);
        rtnl.DeleteAddress(index, IPAddress.Parse("fd66::1"), 64);
        Assert.DoesNotContain("10.67.0.0/16", ns.Ip("route show"));
        Assert.DoesNotContain("fd67::/48", ns.Ip("-6 route show"));
        Assert.DoesNotContain("fd66::1", ns.Ip("addr show rdum0"));
        Assert.Contains("10.66.0.1/24", ns.Ip("addr show rdum0"));
        var foreign = Assert.Throws<Win32Exception>(() => rtnl.DeleteRoute(index, IPAddress.Parse("10.68.0.0"), 16));
        Assert.Equal(3, foreign.NativeErrorCode); // ESRCH: not routerd's route
        Assert.Contains("10.68.0.0/16 dev rdum0 proto static", ns.Ip("route show"));
        Assert.Contains("10.69.0.0/16 dev rdum0", ns.Ip("route show"));
        rtnl.DeleteAddress(index, IPAddress.Parse("10.66.0.1"), 24);
        Assert.DoesNotContain("10.66.0.0/24", ns.Ip("route show")); // the prefix route goes with its address
        Assert.Throws<Win32Exception>(() => rtnl.DeleteAddress(index, IPAddress.Parse("10.66.0.1"), 24));

        rtnl.SetUp(index, false);
        Assert.Equal(0u, rtnl.GetLink(index).Flags & 1);
        var missing = Assert.Throws<AggregateException>(() => ns.Run(() => Rtnetlink.IndexOf("nope0")));
        Assert.IsType<Win32Exception>(missing.InnerException);
    }

    [RootFact]
    public void The_monitor_reports_mtu_changes_address_removal_moves_and_deletion()
    {
        using var ns = Netns.Create("mon");
        using var other = Netns.Create("mon2");
        var events = new ConcurrentQueue<LinkEvent>();
        using LinkMonitor monitor = ns.Run(() => new LinkMonitor(events.Enqueue));
        ns.Ip("link add rmon0 type veth peer name rmon1");
        int index = ns.Run(() => Rtnetlink.IndexOf("rmon0"));
        int peerIndex = ns.Run(() => Rtnetlink.IndexOf("rmon1"));

        ns.Ip("link set rmon0 mtu 1300");
        Assert.True(Wait.Until(() => events.Any(e => e.Kind == LinkEventKind.LinkChanged && e.InterfaceIndex == index && e.Mtu == 1300)));

        ns.Ip("addr add 10.65.0.1/24 dev rmon0");
        Assert.True(Wait.Until(() => events.Any(e => e.Kind == LinkEventKind.AddressAdded && IPAddress.Parse("10.65.0.1").Equals(e.Address))));
        ns.Ip("addr del 10.65.0.1/24 dev rmon0");
        Assert.True(Wait.Until(() => events.Any(e => e.Kind == LinkEventKind.AddressRemoved && e.InterfaceIndex == index
            && IPAddress.Parse("10.65.0.1").Equals(e.Address) && e.PrefixLength == 24)));

        ns.Ip($"link set rmon1 netns {other.Name}");
        Assert.True(Wait.Until(() => events.Any(e => e.Kind == LinkEventKind.LinkMovedAway && e.InterfaceIndex == peerIndex)));
        Assert.DoesNotContain(events, e => e.Kind == LinkEventKind.LinkDeleted && e.InterfaceIndex == peerIndex);

        // Deleting rmon0 deletes its veth peer too (in the other namespace, unseen here).
        ns.Ip("link del rmon0");
        Assert.True(Wait.Until(() => events.Any(e => e.Kind == LinkEventKind.LinkDeleted && e.InterfaceIndex == index)));
    }
}
