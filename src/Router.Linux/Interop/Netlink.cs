using System.Runtime.InteropServices;

namespace Router.Linux.Interop;

/// <summary>linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h: the subset Router uses.</summary>
internal static class Netlink
{
    internal const int NETLINK_ROUTE = 0;
    internal const int SOL_NETLINK = 270;

    // nlmsghdr flags.
    internal const ushort NLM_F_REQUEST = 0x1;
    internal const ushort NLM_F_MULTI = 0x2;
    internal const ushort NLM_F_ACK = 0x4;
    internal const ushort NLM_F_REPLACE = 0x100;
    internal const ushort NLM_F_EXCL = 0x200;
    internal const ushort NLM_F_CREATE = 0x400;

    // Message types.
    internal const ushort NLMSG_ERROR = 2;
    internal const ushort NLMSG_DONE = 3;
    internal const ushort RTM_NEWLINK = 16;
    internal const ushort RTM_DELLINK = 17;
    internal const ushort RTM_GETLINK = 18;
    internal const ushort RTM_NEWADDR = 20;
    internal const ushort RTM_DELADDR = 21;
    internal const ushort RTM_NEWROUTE = 24;
    internal const ushort RTM_DELROUTE = 25;
    internal const ushort RTM_NEWNSID = 88;
    internal const ushort RTM_GETNSID = 90;

    // Multicast groups for sockaddr_nl.nl_groups (the legacy bitmask form).
    internal const uint RTMGRP_LINK = 0x1;
    internal const uint RTMGRP_IPV4_IFADDR = 0x10;
    internal const uint RTMGRP_IPV6_IFADDR = 0x100;

    // Link attributes.
    internal const ushort IFLA_IFNAME = 3;
    internal const ushort IFLA_MTU = 4;
    internal const ushort IFLA_NEW_NETNSID = 45; // present on the RTM_DELLINK sent when a link moves to another namespace
    internal const ushort IFLA_TARGET_NETNSID = 46; // a request about a link in a peer namespace, named by its nsid (4.20+)

    // Namespace id attributes (linux/net_namespace.h).
    internal const ushort NETNSA_NSID = 1;
    internal const ushort NETNSA_FD = 3;
    internal const int NETNSA_NSID_NOT_ASSIGNED = -1;

    // Address attributes.
    internal const ushort IFA_ADDRESS = 1;
    internal const ushort IFA_LOCAL = 2;

    // Route attributes and values.
    internal const ushort RTA_DST = 1;
    internal const ushort RTA_OIF = 4;
    internal const byte RT_TABLE_MAIN = 254;
    internal const byte RTPROT_BOOT = 3;
    internal const byte RT_SCOPE_UNIVERSE = 0;
    internal const byte RT_SCOPE_LINK = 253;
    internal const byte RTN_UNICAST = 1;

    internal const uint IFF_UP = 0x1;
    internal const uint IFF_RUNNING = 0x40;

    internal static int Align(int length) => (length + 3) & ~3;

    [StructLayout(LayoutKind.Sequential)]
    internal struct SockAddrNl
    {
        internal ushort Family;
        internal ushort Pad;
        internal uint Pid;
        internal uint Groups;
    }

    /// <summary>struct nlmsghdr (16 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct NlMsgHdr
    {
        internal uint Length;
        internal ushort Type;
        internal ushort Flags;
        internal uint Sequence;
        internal uint Pid;
    }

    /// <summary>struct ifinfomsg (16 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IfInfoMsg
    {
        internal byte Family;
        internal byte Pad;
        internal ushort Type;
        internal int Index;
        internal uint Flags;
        internal uint Change;
    }

    /// <summary>struct rtgenmsg, padded to the 4 bytes netlink aligns it to.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 4)]
    internal struct RtGenMsg
    {
        internal byte Family;
    }

    /// <summary>struct ifaddrmsg (8 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct IfAddrMsg
    {
        internal byte Family;
        internal byte PrefixLength;
        internal byte Flags;
        internal byte Scope;
        internal int Index;
    }

    /// <summary>struct rtmsg (12 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RtMsg
    {
        internal byte Family;
        internal byte DestinationLength;
        internal byte SourceLength;
        internal byte Tos;
        internal byte Table;
        internal byte Protocol;
        internal byte Scope;
        internal byte Type;
        internal uint Flags;
    }

    /// <summary>struct rtattr (4 bytes); payload follows, 4-byte aligned.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RtAttr
    {
        internal ushort Length;
        internal ushort Type;
    }
}
