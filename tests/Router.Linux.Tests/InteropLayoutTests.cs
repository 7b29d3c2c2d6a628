using Router.Linux.Interop;

namespace Router.Linux.Tests;

/// <summary>The kernel reads these structures byte for byte: their sizes must match the C headers on LP64.</summary>
public sealed unsafe class InteropLayoutTests
{
    [Fact]
    public void Structures_have_the_sizes_of_their_C_counterparts()
    {
        Assert.Equal(16, sizeof(Socket.IoVec));
        Assert.Equal(56, sizeof(Socket.MsgHdr));
        Assert.Equal(64, sizeof(Socket.MMsgHdr));
        Assert.Equal(16, sizeof(Socket.CMsgHdr));
        Assert.Equal(16, sizeof(Socket.SockAddrIn));
        Assert.Equal(28, sizeof(Socket.SockAddrIn6));
        Assert.Equal(12, sizeof(Socket.InPktInfo));
        Assert.Equal(20, sizeof(Socket.In6PktInfo));
        Assert.Equal(40, sizeof(TunIoctl.IfReq));
        Assert.Equal(12, sizeof(Netlink.SockAddrNl));
        Assert.Equal(16, sizeof(Netlink.NlMsgHdr));
        Assert.Equal(16, sizeof(Netlink.IfInfoMsg));
        Assert.Equal(8, sizeof(Netlink.IfAddrMsg));
        Assert.Equal(12, sizeof(Netlink.RtMsg));
        Assert.Equal(8, sizeof(Libc.PollFd));
    }

    [Fact]
    public void Sockaddr_in6_address_sits_at_offset_8()
    {
        Socket.SockAddrIn6 address = default;
        Assert.Equal(8, (int)((byte*)address.Address - (byte*)&address));
        Assert.Equal(24, (int)((byte*)&address.ScopeId - (byte*)&address));
    }
}
