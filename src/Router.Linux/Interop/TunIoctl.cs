using System.Runtime.InteropServices;

namespace Router.Linux.Interop;

/// <summary>linux/if.h and linux/if_tun.h: struct ifreq and the TUN ioctls.</summary>
internal static class TunIoctl
{
    internal const int IFNAMSIZ = 16;

    internal const nuint TUNSETIFF = 0x400454ca;     // _IOW('T', 202, int)
    internal const nuint TUNSETOFFLOAD = 0x400454d0; // _IOW('T', 208, unsigned int); issue 9
    internal const nuint TUNGETIFF = 0x800454d2;     // _IOR('T', 210, unsigned int): the interface's current name
    internal const nuint TUNGETDEVNETNS = 0x54e3;    // _IO('T', 227): a new fd of the namespace the interface is in (5.2+)

    internal const short IFF_TUN = 0x0001;
    internal const short IFF_NO_PI = 0x1000;
    internal const short IFF_VNET_HDR = 0x4000;

    /// <summary>struct ifreq (40 bytes): name then a 24-byte union, of which TUN uses the leading short flags.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 40)]
    internal unsafe struct IfReq
    {
        internal fixed byte Name[IFNAMSIZ];
        internal short Flags;
    }
}
