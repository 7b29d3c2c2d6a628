using System.Net;

namespace Router.Linux;

/// <summary>What a <see cref="LinkMonitor"/> saw.</summary>
public enum LinkEventKind
{
    /// <summary>A link was created or changed: <see cref="LinkEvent.Mtu"/> and <see cref="LinkEvent.Flags"/> hold its state.</summary>
    LinkChanged,
    /// <summary>A link was deleted.</summary>
    LinkDeleted,
    /// <summary>A link left this namespace (moved to another); it still exists and its file descriptors stay valid.</summary>
    LinkMovedAway,
    /// <summary>A local address appeared.</summary>
    AddressAdded,
    /// <summary>A local address went away (a sticky source using it must fall over to another one).</summary>
    AddressRemoved,
    /// <summary>The kernel dropped notifications (receive buffer overrun): re-read whatever state matters.</summary>
    Overrun,
}

/// <summary>One rtnetlink notification, decoded.</summary>
public readonly record struct LinkEvent(LinkEventKind Kind, int InterfaceIndex, int Mtu = 0, uint Flags = 0, IPAddress? Address = null, int PrefixLength = 0)
{
    /// <summary>IFF_UP is set.</summary>
    public bool IsUp => (Flags & Interop.Netlink.IFF_UP) != 0;
}
