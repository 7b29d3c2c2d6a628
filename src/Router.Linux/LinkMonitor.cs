using System.ComponentModel;
using System.Runtime.InteropServices;
using Router.Linux.Interop;
using static Router.Linux.Interop.Netlink;

namespace Router.Linux;

/// <summary>
/// Listens to rtnetlink multicast groups (links, IPv4 and IPv6 addresses) on a background thread and reports each
/// notification to a handler: link deleted or moved away, MTU and up/down changes, local addresses added or removed.
/// </summary>
/// <remarks>
/// The socket is opened in the constructor, so the monitor watches the network namespace of the constructing thread.
/// The handler runs on the monitor thread; it must not block for long.
/// </remarks>
public sealed unsafe class LinkMonitor : IDisposable
{
    private readonly SafeFd _socket;
    private readonly SafeFd _wake;
    private readonly Action<LinkEvent> _handler;
    private readonly Thread _thread;
    private volatile bool _closed;
    private bool _disposedFromHandler;

    public LinkMonitor(Action<LinkEvent> handler)
    {
        _handler = handler;
        int fd = Interop.Socket.Create(Interop.Socket.AF_NETLINK, Interop.Socket.SOCK_RAW | Interop.Socket.SOCK_CLOEXEC | Interop.Socket.SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
            throw OsError.Of(Marshal.GetLastPInvokeError(), "socket(AF_NETLINK)");
        _socket = new SafeFd(fd);
        var local = new SockAddrNl { Family = Interop.Socket.AF_NETLINK, Groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
        if (Interop.Socket.Bind(fd, &local, (uint)sizeof(SockAddrNl)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _socket.Dispose();
            throw OsError.Of(errno, "bind(rtnetlink groups)");
        }
        int wake = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (wake < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _socket.Dispose();
            throw OsError.Of(errno, "eventfd");
        }
        _wake = new SafeFd(wake);
        _thread = new Thread(Run) { IsBackground = true, Name = "link-monitor" };
        _thread.Start();
    }

    public void Dispose()
    {
        if (_closed)
            return;
        _closed = true;
        ulong one = 1;
        Libc.Write(_wake.Fd, (byte*)&one, sizeof(ulong));
        if (Thread.CurrentThread == _thread)
        {
            _disposedFromHandler = true;
            return; // called from the handler: Run closes the descriptors on its way out
        }
        _thread.Join();
        _socket.Dispose();
        _wake.Dispose();
    }

    private void Run()
    {
        try
        {
            Loop();
        }
        finally
        {
            if (_closed && _disposedFromHandler)
            {
                _socket.Dispose();
                _wake.Dispose();
            }
        }
    }

    private void Loop()
    {
        byte[] buffer = new byte[64 * 1024];
        Libc.PollFd* fds = stackalloc Libc.PollFd[2];
        while (!_closed)
        {
            fds[0] = new Libc.PollFd { Fd = _socket.Fd, Events = Libc.POLLIN };
            fds[1] = new Libc.PollFd { Fd = _wake.Fd, Events = Libc.POLLIN };
            if (Libc.Poll(fds, 2, -1) < 0)
                continue; // EINTR
            if (_closed || fds[1].Revents != 0)
                return;
            while (true)
            {
                nint received;
                fixed (byte* p = buffer)
                    received = Interop.Socket.Receive(_socket.Fd, p, (nuint)buffer.Length, Interop.Socket.MSG_DONTWAIT);
                if (received < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.ENOBUFS)
                    {
                        Report(new LinkEvent(LinkEventKind.Overrun, 0));
                        continue;
                    }
                    break; // EAGAIN: drained
                }
                Decode(buffer.AsSpan(0, (int)received));
                if (_closed)
                    return;
            }
        }
    }

    private void Decode(ReadOnlySpan<byte> span)
    {
        while (span.Length >= sizeof(NlMsgHdr))
        {
            var header = MemoryMarshal.Read<NlMsgHdr>(span);
            if (header.Length < sizeof(NlMsgHdr) || header.Length > span.Length)
                return;
            var body = span[sizeof(NlMsgHdr)..(int)header.Length];
            switch (header.Type)
            {
                case RTM_NEWLINK or RTM_DELLINK when body.Length >= sizeof(IfInfoMsg):
                    DecodeLink(header.Type, body);
                    break;
                case RTM_NEWADDR or RTM_DELADDR when body.Length >= sizeof(IfAddrMsg):
                    DecodeAddress(header.Type, body);
                    break;
            }
            span = span[Math.Min(Align((int)header.Length), span.Length)..];
        }
    }

    private void DecodeLink(ushort type, ReadOnlySpan<byte> body)
    {
        var info = MemoryMarshal.Read<IfInfoMsg>(body);
        int mtu = 0;
        bool movedAway = false;
        foreach (var (attributeType, payload) in Rtnetlink.Attributes(body[sizeof(IfInfoMsg)..]))
        {
            if (attributeType == IFLA_MTU && payload.Length >= 4)
                mtu = MemoryMarshal.Read<int>(payload);
            else if (attributeType == IFLA_NEW_NETNSID)
                movedAway = true;
        }
        var kind = type == RTM_NEWLINK ? LinkEventKind.LinkChanged : movedAway ? LinkEventKind.LinkMovedAway : LinkEventKind.LinkDeleted;
        Report(new LinkEvent(kind, info.Index, mtu, info.Flags));
    }

    private void DecodeAddress(ushort type, ReadOnlySpan<byte> body)
    {
        var info = MemoryMarshal.Read<IfAddrMsg>(body);
        System.Net.IPAddress? address = null;
        foreach (var (attributeType, payload) in Rtnetlink.Attributes(body[sizeof(IfAddrMsg)..]))
        {
            // IFA_LOCAL is the local address on point-to-point links; IFA_ADDRESS is the peer there, the local one elsewhere.
            if (attributeType == IFA_LOCAL || (attributeType == IFA_ADDRESS && address is null))
                address = Rtnetlink.AddressFrom(payload, info.Family);
        }
        var kind = type == RTM_NEWADDR ? LinkEventKind.AddressAdded : LinkEventKind.AddressRemoved;
        Report(new LinkEvent(kind, info.Index, Address: address, PrefixLength: info.PrefixLength));
    }

    private void Report(LinkEvent e)
    {
        try
        {
            _handler(e);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A faulty handler must not stop monitoring (the daemon's exit-on-delete depends on it).
            Console.Error.WriteLine($"link monitor handler failed: {ex.Message}");
        }
    }
}
